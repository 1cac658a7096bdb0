package io.portico.websocket;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds how long one side of a relay may leave what the relay wrote to it unread, as nginx's
 * send_timeout bounds an upgraded connection: once the side's channel has been unwritable for
 * {@code sendTimeout} without taking a byte, it is reported stalled.
 *
 * <p>Progress counts, as a successful write does in nginx: any bytes taken restart the clock, so a
 * slow reader working through a large frame is not cut off. The timer runs only while the channel is
 * unwritable, and looks at least twice per period so that progress is seen.
 */
final class SendTimeout implements Runnable {

    private static final long MIN_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final Channel channel;
    private final long timeoutNanos;
    private final Runnable onStalled;

    private long unwritableSince;
    /** The output buffer at the last look: its first entry (by identity, not to pin it), total and progress. */
    private int first;
    private long pending;
    private long progress;
    private boolean stopped;
    private ScheduledFuture<?> timer;

    private SendTimeout(Channel channel, long timeoutNanos, Runnable onStalled) {
        this.channel = channel;
        this.timeoutNanos = timeoutNanos;
        this.onStalled = onStalled;
    }

    /** The watch for these limits, or null when they set no send timeout. */
    static SendTimeout create(Channel channel, RelayLimits limits, Runnable onStalled) {
        long timeout = limits.sendTimeout().toNanos();
        return timeout == 0 ? null : new SendTimeout(channel, timeout, onStalled);
    }

    /** The channel's writability changed (or is to be looked at for the first time). */
    void writabilityChanged() {
        if (stopped) {
            return;
        }
        if (channel.isWritable()) {
            // A timer still pending finds nothing to do and is not re-armed.
            unwritableSince = 0;
        } else if (unwritableSince == 0) {
            unwritableSince = System.nanoTime();
            tookBytes();
            if (timer == null) {
                schedule(unwritableSince);
            }
        }
    }

    void stop() {
        stopped = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void run() {
        timer = null;
        if (stopped || unwritableSince == 0) {
            return;
        }
        long now = System.nanoTime();
        if (tookBytes()) {
            unwritableSince = now;
        }
        if (now - unwritableSince >= timeoutNanos) {
            stop();
            onStalled.run();
            return;
        }
        schedule(now);
    }

    private void schedule(long now) {
        long delay = Math.min(unwritableSince + timeoutNanos - now, timeoutNanos / 2);
        timer = channel.eventLoop().schedule(this, Math.max(delay, MIN_DELAY_NANOS), TimeUnit.NANOSECONDS);
    }

    /**
     * Whether the side took bytes since the last look (nothing is left, the total fell, or more of
     * the same first entry went out; new writes making the total grow are not its doing), and takes
     * the buffer's state for the next look.
     */
    private boolean tookBytes() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        if (out == null) {
            // Closed, or an HTTP/2 stream, which keeps no buffer of its own: only writability tells.
            return false;
        }
        int wasFirst = first;
        long wasPending = pending;
        long wasProgress = progress;
        first = System.identityHashCode(out.current());
        pending = out.totalPendingWriteBytes();
        progress = out.currentProgress();
        return pending == 0 || pending < wasPending || first == wasFirst && progress > wasProgress;
    }
}
