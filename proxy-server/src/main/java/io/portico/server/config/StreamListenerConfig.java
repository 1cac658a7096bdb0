package io.portico.server.config;

import java.time.Duration;
import java.util.Map;

/**
 * The relay of a {@code protocol: tcp} or {@code udp} listener (nginx {@code stream}).
 *
 * @param idleTimeout     a connection (TCP) or session (UDP) with no byte either way for this long is
 *                        closed (nginx {@code proxy_timeout} 10m)
 * @param sniRoutes       TCP only: upstream group by the server name in the TLS ClientHello, read without
 *                        terminating TLS (nginx {@code ssl_preread}); exact names first, then the longest
 *                        {@code *.suffix}; a name none matches (or no SNI) goes to the listener's {@code upstream}
 * @param prereadTimeout  how long a client may take to send its ClientHello (or PROXY header)
 *                        (nginx {@code preread_timeout} 30s)
 * @param maxSessions     UDP only: concurrent client sessions per listener; datagrams from new clients
 *                        beyond it are dropped. 0 means no cap
 * @param splice          relay with splice(2), kernel to kernel, when the transport is epoll and nothing
 *                        reads the bytes (no TLS termination). Off by default: Netty's splice drops what a
 *                        socket still holds when the FIN comes unless its receive buffer fits the 64 KiB
 *                        pipe, so spliced sockets get a 16 KiB SO_RCVBUF, which limits the TCP window
 * @param halfClose       TCP only: a FIN from one side ends only that direction (shutdown towards the
 *                        other side) and the connection lasts until both have ended, as HAProxy does
 *                        (nginx {@code proxy_half_close on}). Off: the first side to close ends the
 *                        connection once what it sent has been delivered (nginx's default
 *                        {@code proxy_half_close off}), which spares two shutdown calls per connection
 */
public record StreamListenerConfig(
        @Default("10m") Duration idleTimeout,
        Map<String, String> sniRoutes,
        @Default("30s") Duration prereadTimeout,
        @Default("4096") int maxSessions,
        @Default("false") boolean splice,
        @Default("true") boolean halfClose) {

    public StreamListenerConfig {
        sniRoutes = Map.copyOf(sniRoutes);
        if (idleTimeout.isZero() || idleTimeout.isNegative()) {
            throw new InvalidConfigException("idle_timeout", "must be positive");
        }
        if (prereadTimeout.isZero() || prereadTimeout.isNegative()) {
            throw new InvalidConfigException("preread_timeout", "must be positive");
        }
        if (maxSessions < 0) {
            throw new InvalidConfigException("max_sessions", "must be 0 (no cap) or more");
        }
        for (String name : sniRoutes.keySet()) {
            if (name.indexOf('*') >= 0 && !(name.startsWith("*.") && name.indexOf('*', 1) < 0)) {
                throw new InvalidConfigException("sni_routes." + name,
                        "a name is exact (db.example.com) or a leading wildcard (*.example.com)");
            }
        }
    }
}
