package io.portico.server.config;

/**
 * Caps on open WebSocket connections through one listener; when reached, an upgrade gets 503.
 *
 * @param maxConnections  across the listener, 0 for no cap
 * @param maxPerClientIp  per client address, 0 for no cap
 */
public record WebSocketListenerConfig(
        @Default("0") int maxConnections,
        @Default("0") int maxPerClientIp) {

    public WebSocketListenerConfig {
        if (maxConnections < 0 || maxPerClientIp < 0) {
            throw new InvalidConfigException(maxConnections < 0 ? "max_connections" : "max_per_client_ip",
                    "cannot be negative (0 means no cap)");
        }
    }
}
