package io.portico.server.config;

import java.time.Duration;

/**
 * Keep-alive connections to one backend, kept per event loop so the hot path takes no lock.
 *
 * @param maxIdle      idle connections kept per backend per event loop (nginx {@code keepalive 32})
 * @param idleTimeout  an idle connection older than this is closed (nginx {@code keepalive_timeout 60s})
 * @param maxRequests  requests on one connection before it is closed (nginx {@code keepalive_requests 1000})
 * @param surplusIdleTimeout a connection that comes back while {@code maxIdle} are already idle
 *                     (a burst needed more) stays idle this long before it is closed, least
 *                     recently used first, as HAProxy's {@code pool-purge-delay 5s}; {@code 0s}
 *                     closes it at once, as nginx's {@code keepalive} does. Not for a backend
 *                     with {@code max_connections}, whose connections every event loop shares
 */
public record PoolConfig(
        @Default("32") int maxIdle,
        @Default("60s") Duration idleTimeout,
        @Default("1000") int maxRequests,
        @Default("5s") Duration surplusIdleTimeout) {

    public PoolConfig {
        if (maxIdle < 0) {
            throw new InvalidConfigException("max_idle", "cannot be negative (0 turns pooling off)");
        }
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new InvalidConfigException("idle_timeout", "must be positive");
        }
        if (surplusIdleTimeout.isNegative()) {
            throw new InvalidConfigException("surplus_idle_timeout", "cannot be negative (0s closes surplus connections at once)");
        }
        if (maxRequests < 1) {
            throw new InvalidConfigException("max_requests", "must be positive");
        }
    }
}
