package io.portico.server.config;

/**
 * Connection caps, address rules and a request rate limit for one listener.
 *
 * @param maxConnections       open client connections on this listener; at the cap Portico stops
 *                             accepting (new clients wait in the kernel's backlog) until one closes.
 *                             0 means no cap (HAProxy frontend maxconn)
 * @param maxConnectionsPerIp  open connections from one client address; over it a new connection is
 *                             closed at once (nginx limit_conn). 0 means no cap
 * @param access               CIDR allow/deny rules for every request on this listener (403)
 * @param rateLimit            a token bucket per key for every request on this listener (429); absent means none
 */
public record ListenerLimitsConfig(
        @Default("0") int maxConnections,
        @Default("0") int maxConnectionsPerIp,
        AccessConfig access,
        @Nullable RateLimitConfig rateLimit) {

    public ListenerLimitsConfig {
        if (maxConnections < 0) {
            throw new InvalidConfigException("max_connections", "cannot be negative (0 means no cap)");
        }
        if (maxConnectionsPerIp < 0) {
            throw new InvalidConfigException("max_connections_per_ip", "cannot be negative (0 means no cap)");
        }
    }
}
