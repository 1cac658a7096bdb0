package io.portico.server.config;

/**
 * Socket options for connections to backends.
 *
 * @param tcpNodelay   TCP_NODELAY
 * @param tcpKeepalive SO_KEEPALIVE and timers
 * @param fastOpen     TCP_FASTOPEN_CONNECT (native transports)
 */
public record UpstreamSocketConfig(
        @Default("true") boolean tcpNodelay,
        TcpKeepaliveConfig tcpKeepalive,
        @Default("false") boolean fastOpen) {
}
