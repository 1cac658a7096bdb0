package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Watches one side of a relay for silence: after {@code idle} without traffic it reports the side
 * idle; after {@code pingInterval} without any bytes it asks for a ping, and when nothing at all
 * arrives within {@code pongTimeout} of that ping it reports the side dead.
 *
 * <p>One timer per side, re-armed only when it fires, so reads cost a clock read and no
 * scheduling. While the relay is not reading the side (backpressure) the side counts as active:
 * its silence would be ours. How long the other side may hold it there is the send timeout's
 * business ({@link SendTimeout}).
 */
final class Heartbeat implements Runnable {

    /** What the heartbeat asks its side to do. */
    interface Listener {
        void idle();

        /**
         * Sends a ping with this payload, returning true; or, when the ping cannot go out yet (the
         * side is in the middle of receiving a streamed frame, which no other frame may cut),
         * holds it, returns false, and calls {@link Heartbeat#pingSent} once it has gone out. The
         * pong timeout runs from then: the side cannot answer a ping it has not been sent.
         */
        boolean ping(long payload);

        void dead();
    }

    private static final long MIN_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final EventLoop loop;
    private final Listener listener;
    private final long idleNanos;
    private final long pingNanos;
    private final long pongNanos;
    private final long pingBase;

    private long lastReadNanos;
    private long lastTrafficNanos;
    private long pingSentNanos;
    private boolean pingOutstanding;
    /** The outstanding ping is held by the listener, not sent yet. */
    private boolean pingHeld;
    private long pingPayload;
    private long pingCount;
    private boolean paused;
    private boolean stopped;
    private ScheduledFuture<?> timer;

    Heartbeat(EventLoop loop, Listener listener, long idleNanos, long pingNanos, long pongNanos, long pingBase) {
        this.loop = loop;
        this.listener = listener;
        this.idleNanos = idleNanos;
        this.pingNanos = pingNanos;
        this.pongNanos = pongNanos;
        this.pingBase = pingBase;
    }

    /** The heartbeat for these limits, or null when they ask for neither idle timeout nor pings. */
    static Heartbeat create(EventLoop loop, Listener listener, RelayLimits limits, boolean pings, long pingBase) {
        long idle = limits.idleTimeout().toNanos();
        long ping = pings ? limits.pingInterval().toNanos() : 0;
        if (idle == 0 && ping == 0) {
            return null;
        }
        return new Heartbeat(loop, listener, idle, ping, limits.pongTimeout().toNanos(), pingBase);
    }

    void start() {
        long now = System.nanoTime();
        lastReadNanos = now;
        lastTrafficNanos = now;
        schedule(now);
    }

    /** Bytes arrived from the side. */
    void bytesRead() {
        lastReadNanos = System.nanoTime();
    }

    /** A message worth relaying arrived from the side (not a pong to our own ping). */
    void trafficRead() {
        lastTrafficNanos = lastReadNanos;
    }

    /** Bytes arrived and they count as traffic (raw relays see no messages). */
    void bytesAndTrafficRead() {
        long now = System.nanoTime();
        lastReadNanos = now;
        lastTrafficNanos = now;
    }

    /** Whether this pong payload answers a ping of ours; if so the side is known alive. */
    boolean isOwnPong(ByteBuf payload) {
        if (pingCount == 0 || payload.readableBytes() != Long.BYTES
                || payload.getLong(payload.readerIndex()) != pingPayload) {
            return false;
        }
        boolean wasOutstanding = pingOutstanding;
        pingOutstanding = false;
        if (wasOutstanding && timer != null && !stopped) {
            // The timer was set for the pong's deadline; the next ping is due a ping interval of
            // silence from now, which may come sooner (pings went out every pong_timeout when
            // that was the longer of the two).
            timer.cancel(false);
            schedule(System.nanoTime());
        }
        return true;
    }

    /** Whether the listener held the last ping and it is still due (no read or stop has made it moot). */
    boolean pingHeld() {
        return pingHeld && !stopped;
    }

    /** The payload of the last ping asked for (the one held, when {@link #pingHeld()}). */
    long pingPayload() {
        return pingPayload;
    }

    /** The ping the listener held went out now. */
    void pingSent() {
        if (pingHeld && !stopped) {
            pingHeld = false;
            pingSentNanos = System.nanoTime();
            if (timer != null) {
                timer.cancel(false);
            }
            schedule(pingSentNanos);
        }
    }

    void pause() {
        paused = true;
    }

    void resume() {
        if (paused) {
            paused = false;
            long now = System.nanoTime();
            lastReadNanos = now;
            lastTrafficNanos = now;
            if (pingOutstanding) {
                pingSentNanos = now;
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
        if (stopped) {
            return;
        }
        long now = System.nanoTime();
        if (paused) {
            schedule(now);
            return;
        }
        if (idleNanos > 0 && now - lastTrafficNanos >= idleNanos) {
            stop();
            listener.idle();
            return;
        }
        if (pingNanos > 0) {
            if (pingOutstanding) {
                if (lastReadNanos - pingSentNanos > 0) {
                    // Anything read since the ping proves the side alive, even if its pong is late.
                    pingOutstanding = false;
                    pingHeld = false;
                } else if (!pingHeld && now - pingSentNanos >= pongNanos) {
                    stop();
                    listener.dead();
                    return;
                }
            }
            if (!pingOutstanding && now - lastReadNanos >= pingNanos) {
                pingPayload = pingBase + ++pingCount;
                pingOutstanding = true;
                pingSentNanos = now;
                pingHeld = !listener.ping(pingPayload);
                if (stopped) {
                    return;
                }
            }
        }
        schedule(now);
    }

    private void schedule(long now) {
        long delay = Long.MAX_VALUE;
        if (idleNanos > 0) {
            delay = lastTrafficNanos + idleNanos - now;
        }
        if (pingNanos > 0) {
            long next = !pingOutstanding ? lastReadNanos + pingNanos - now
                    : pingHeld ? pingNanos
                    : pingSentNanos + pongNanos - now;
            delay = Math.min(delay, next);
        }
        if (paused) {
            delay = Math.min(idleNanos > 0 ? idleNanos : Long.MAX_VALUE, pingNanos > 0 ? pingNanos : Long.MAX_VALUE);
        }
        timer = loop.schedule(this, Math.max(delay, MIN_DELAY_NANOS), TimeUnit.NANOSECONDS);
    }
}
