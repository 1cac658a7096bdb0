package io.portico.server.it;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A slow client's steps on a schedule. Slowness is the input of the slow-client tests, not
 * something they wait for: each step runs {@code period} after the previous one, on a timer thread,
 * and the test awaits the outcome (a 408, a closed connection, a complete body) instead.
 */
final class Pace {

    /** One step; returns false when the client is done. An exception also ends it (e.g. Portico closed). */
    interface Step {
        boolean run() throws Exception;
    }

    /** Steps may block (a read waits for bytes), so several clients get threads of their own; one client's steps never overlap. */
    private static final ScheduledExecutorService TIMER = Executors.newScheduledThreadPool(16, r -> {
        Thread t = new Thread(r, "slow-client");
        t.setDaemon(true);
        return t;
    });

    private Pace() {
    }

    /**
     * Runs {@code step} now and then every {@code period} until it returns false or throws. The
     * future completes normally when the step said it was done, exceptionally with what it threw.
     */
    static CompletableFuture<Void> every(Duration period, Step step) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        schedule(period, step, done, 0);
        return done;
    }

    /** Runs {@code step} {@code times} times, {@code period} apart, starting now. */
    static CompletableFuture<Void> times(Duration period, int times, Step step) {
        int[] left = {times};
        return every(period, () -> {
            step.run();
            return --left[0] > 0;
        });
    }

    private static void schedule(Duration period, Step step, CompletableFuture<Void> done, long delayNanos) {
        TIMER.schedule(() -> {
            try {
                if (step.run()) {
                    schedule(period, step, done, period.toNanos());
                } else {
                    done.complete(null);
                }
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        }, delayNanos, TimeUnit.NANOSECONDS);
    }
}
