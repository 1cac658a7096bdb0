package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.http.ReadClock;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Makes sure an upstream connection's (or HTTP/2 stream's) owner has its deadlines checked at or
 * before the time it asks for. A check already due earlier is left alone and re-arms itself for the
 * owner's next deadline when it fires, so a busy keep-alive connection schedules about once per
 * timeout period rather than once per request (the trick Netty's IdleStateHandler uses). Used on
 * the channel's event loop only.
 */
final class DeadlineWatch implements Runnable {

    private final Supplier<? extends Channel> channel;
    private final Supplier<UpstreamListener> owner;
    private ScheduledFuture<?> pending;
    private long pendingAt;

    /** Both are read when needed: the channel may be attached after this is built, the owner changes. */
    DeadlineWatch(Supplier<? extends Channel> channel, Supplier<UpstreamListener> owner) {
        this.channel = channel;
        this.owner = owner;
    }

    void watch(long deadlineNanos) {
        if (pending != null) {
            if (pendingAt - deadlineNanos <= 0) {
                return;
            }
            pending.cancel(false);
        }
        pendingAt = deadlineNanos;
        pending = channel.get().eventLoop().schedule(this, Math.max(0, deadlineNanos - ReadClock.nanoTime()),
                TimeUnit.NANOSECONDS);
    }

    void cancel() {
        if (pending != null) {
            pending.cancel(false);
            pending = null;
        }
    }

    @Override
    public void run() {
        pending = null;
        UpstreamListener listener = owner.get();
        if (listener != null) {
            long next = listener.onDeadlineCheck(System.nanoTime());
            if (next != 0 && channel.get().isActive()) {
                watch(next);
            }
        }
    }
}
