package io.portico.server.config;

/**
 * Retries on the next backend. A request is retried only when the backend cannot have acted on it:
 * the connection failed before anything was sent, or an idempotent request without a body failed on
 * a reused keep-alive connection before any response byte came back.
 *
 * @param attempts      tries in all, the first included (nginx {@code proxy_next_upstream_tries})
 * @param budgetRatio   retries allowed as a share of requests, so retries cannot multiply an outage
 * @param minPerSecond  retries always allowed per second whatever the ratio says
 */
public record RetryConfig(
        @Default("3") int attempts,
        @Default("0.2") double budgetRatio,
        @Default("10") int minPerSecond) {

    public RetryConfig {
        if (attempts < 1) {
            throw new InvalidConfigException("attempts", "must be 1 (no retry) or more");
        }
        if (budgetRatio < 0 || budgetRatio > 1) {
            throw new InvalidConfigException("budget_ratio", "must be between 0 and 1");
        }
        if (minPerSecond < 0) {
            throw new InvalidConfigException("min_per_second", "cannot be negative");
        }
    }
}
