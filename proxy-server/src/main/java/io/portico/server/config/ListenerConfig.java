package io.portico.server.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

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
 * @param http2          HTTP/2 towards clients: ALPN h2 on TLS, h2c on plain listeners, settings and abuse limits
 * @param http3          HTTP/3 over QUIC on the same port over UDP (TLS listeners), advertised with Alt-Svc
 * @param protocol       http (routed by servers), or tcp/udp relayed to {@code upstream} (nginx {@code stream})
 * @param upstream       the upstream group of a tcp or udp listener
 * @param stream         the relay's timeouts, SNI routes and UDP session cap (tcp and udp listeners)
 * @param proxyProtocol  accepting the PROXY protocol from trusted load balancers in front
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
        Http2ListenerConfig http2,
        Http3ListenerConfig http3,
        @Default("http") ListenerProtocol protocol,
        @Nullable String upstream,
        StreamListenerConfig stream,
        ProxyProtocolListenerConfig proxyProtocol,

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
        if (http2 == null) {
            http2 = Http2ListenerConfig.defaults();
        }
        if (http3 == null) {
            http3 = Http3ListenerConfig.defaults();
        }
        if (http3.enabled() && (tls == null || protocol != ListenerProtocol.HTTP)) {
            throw new InvalidConfigException("http3.enabled", "HTTP/3 needs an http listener with tls (QUIC is always encrypted)");
        }
        if (http3.enabled() && !tls.protocols().isEmpty() && !tls.protocols().contains("TLSv1.3")) {
            throw new InvalidConfigException("http3.enabled", "QUIC needs TLSv1.3, which tls.protocols leaves out");
        }
        if (tls != null && tls.alpn().isEmpty()) {
            tls = tls.withAlpn(http2.enabled() ? List.of("h2", "http/1.1") : List.of("http/1.1"));
        } else if (tls != null && tls.alpn().contains("h2") && !http2.enabled()) {
            throw new InvalidConfigException("tls", "alpn offers h2 but http2.enabled is false");
        }
        if (deferAccept.isNegative()) {
            throw new InvalidConfigException("defer_accept", "cannot be negative");
        }
        if (protocol == ListenerProtocol.HTTP && upstream != null) {
            throw new InvalidConfigException("upstream",
                    "only tcp and udp listeners name an upstream; http listeners are routed by servers");
        }
        if (protocol != ListenerProtocol.HTTP && upstream == null && stream.sniRoutes().isEmpty()) {
            throw new InvalidConfigException("upstream", "a " + protocol.name().toLowerCase(Locale.ROOT)
                    + " listener needs the upstream group it relays to");
        }
        if (!stream.sniRoutes().isEmpty() && protocol != ListenerProtocol.TCP) {
            throw new InvalidConfigException("stream.sni_routes", "SNI routing is for tcp listeners");
        }
        if (!stream.sniRoutes().isEmpty() && tls != null) {
            throw new InvalidConfigException("stream.sni_routes",
                    "sni_routes passes TLS through untouched, tls terminates it: use one or the other");
        }
        if (protocol == ListenerProtocol.UDP && tls != null) {
            throw new InvalidConfigException("tls", "a udp listener cannot terminate TLS");
        }
        if (protocol == ListenerProtocol.UDP && proxyProtocol.accept()) {
            throw new InvalidConfigException("proxy_protocol.accept", "is for tcp and http listeners");
        }
    }
}
