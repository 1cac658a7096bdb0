package io.portico.server.upstream;

import io.portico.server.config.RetryConfig;

/**
 * Caps retries so that a failing backend cannot make the proxy multiply its load: each request
 * earns {@code budget_ratio} of a retry, and {@code min_per_second} retries are always allowed. One
 * budget per upstream group per event loop, so it needs no synchronisation.
 */
final class RetryBudget {

    private final double ratio;
    private final int minPerSecond;
    private final double capacity;
    private double tokens;
    private long second;
    private int usedThisSecond;

    RetryBudget(RetryConfig config) {
        this.ratio = config.budgetRatio();
        this.minPerSecond = config.minPerSecond();
        this.capacity = Math.max(1.0, 100 * ratio);
    }

    void onRequest() {
        if (ratio > 0 && tokens < capacity) {
            tokens += ratio;
        }
    }

    boolean tryRetry(long nowNanos) {
        long s = nowNanos / 1_000_000_000L;
        if (s != second) {
            second = s;
            usedThisSecond = 0;
        }
        if (usedThisSecond < minPerSecond) {
            usedThisSecond++;
            return true;
        }
        if (tokens >= 1.0) {
            tokens -= 1.0;
            return true;
        }
        return false;
    }
}
