package io.portico.server.limits;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The keep-alive timeout of a multiplexed connection (HTTP/2, HTTP/3): once it has had no stream
 * open for {@code keepalive_timeout}, {@code onIdle} runs (a GOAWAY and close), as an idle HTTP/1.1
 * connection is closed. One timer at most, re-armed lazily: a busy connection whose streams come
 * and go pays for a timestamp per idle spell, not for a timer each time. Touched only by the
 * connection's event loop.
 */
public final class ConnectionIdleTimer {

    private final EventExecutor loop;
    private final LongSupplier timeoutNanos;
    private final BooleanSupplier busy;
    private final Runnable onIdle;
    private long idleSince;
    private ScheduledFuture<?> timer;

    /**
     * @param timeoutNanos the keep-alive timeout of the moment (a reload may change it)
     * @param busy         whether the connection has a stream open (or is closing anyway): then the
     *                     check does nothing, and {@link #idle} re-arms it when the last stream ends
     * @param onIdle       what to do once the connection has been idle that long
     */
    public ConnectionIdleTimer(EventExecutor loop, LongSupplier timeoutNanos, BooleanSupplier busy, Runnable onIdle) {
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
        this.busy = busy;
        this.onIdle = onIdle;
    }

    /** The connection has no stream open from now on (it began, or its last stream ended). */
    public void idle() {
        idleSince = System.nanoTime();
        if (timer == null) {
            arm(timeoutNanos.getAsLong());
        }
    }

    /** The connection is gone: no check is left behind. */
    public void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void arm(long delay) {
        timer = loop.schedule(this::check, delay, TimeUnit.NANOSECONDS);
    }

    private void check() {
        timer = null;
        if (busy.getAsBoolean()) {
            return;
        }
        long left = idleSince + timeoutNanos.getAsLong() - System.nanoTime();
        if (left > 0) {
            arm(left);
            return;
        }
        onIdle.run();
    }
}
