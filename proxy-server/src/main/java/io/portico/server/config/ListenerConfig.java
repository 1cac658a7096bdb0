package io.portico.server.config;

import java.time.Duration;

/**
 * One listening socket, tuned like nginx's {@code listen}.
 *
 * @param name           used in logs and metrics, and by {@code servers[].listeners}; defaults to the address
 * @param address        host:port to bind
 * @param backlog        accept queue length (nginx: 511; we default to 4096 and warn when somaxconn caps it)
 * @param reusePort      SO_REUSEPORT with one accepting socket per event loop (native transports)
 * @param fastOpen       TCP_FASTOPEN queue length, 0 for off
 * @param tcpNodelay     TCP_NODELAY on accepted connections
 * @param tcpKeepalive   SO_KEEPALIVE and its timers on accepted connections
 * @param deferAccept    TCP_DEFER_ACCEPT: wake up only when data arrives, 0 for off (epoll, io_uring)
 * @param receiveBuffer  SO_RCVBUF, 0 for the kernel's default
 * @param sendBuffer     SO_SNDBUF, 0 for the kernel's default
 * @param http           HTTP/1.1 limits and keep-alive on this listener
 * @param tls            TLS termination; absent for plain HTTP
 * @param websocket      caps on WebSocket connections through this listener
 * @param limits         connection caps, CIDR rules and a rate limit for this listener
 */
public record ListenerConfig(
        @Default("") String name,
        HostPort address,
        @Default("4096") int backlog,
        @Default("false") boolean reusePort,
        @Default("0") int fastOpen,
        @Default("true") boolean tcpNodelay,
        TcpKeepaliveConfig tcpKeepalive,
        @Default("0s") Duration deferAccept,
        @Default("0") ByteSize receiveBuffer,
        @Default("0") ByteSize sendBuffer,
        HttpListenerConfig http,
        @Nullable TlsListenerConfig tls,
        WebSocketListenerConfig websocket,
        ListenerLimitsConfig limits) {

    public ListenerConfig {
        if (name == null || name.isEmpty()) {
            name = address.toString();
        }
        if (backlog <= 0) {
            throw new InvalidConfigException("backlog", "must be positive, got " + backlog);
        }
        if (fastOpen < 0) {
            throw new InvalidConfigException("fast_open", "must be 0 (off) or a queue length, got " + fastOpen);
        }
        if (deferAccept.isNegative()) {
            throw new InvalidConfigException("defer_accept", "cannot be negative");
        }
    }
}
