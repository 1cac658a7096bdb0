package io.portico.server.metrics;

import io.portico.server.http2.Http2Counters;
import io.portico.server.http3.Http3Counters;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * One listener's metrics, looked up once per listener (it survives reloads: a listener of the same
 * name keeps counting). Every method is lock-free and allocation-free once a series exists; the
 * first request of a route, protocol and status class creates its series.
 */
public final class ListenerMetrics {

    /** Protocol indexes for {@link #request}. */
    public static final int HTTP_1_0 = 0;
    public static final int HTTP_1_1 = 1;
    public static final int HTTP_2 = 2;
    public static final int HTTP_3 = 3;
    private static final String[] PROTOCOLS = {"HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"};
    private static final String[] CLASSES = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

    private final String listener;
    private final AdderCounter requests;
    private final AdderCounter tlsHandshakes;
    private final ConcurrentHashMap<String, LongAdder[]> routes = new ConcurrentHashMap<>();
    private final LongAdder[] tlsCells = new LongAdder[8];
    final LatencyRecorder requestTime;
    private final LatencyRecorder allRequests;
    final LongAdder bytesIn;
    final LongAdder bytesOut;
    final LongAdder connections;
    final LongAdder activeConnections = new LongAdder();
    final LongAdder webSockets;
    final LongAdder activeWebSockets = new LongAdder();
    final LongAdder tlsFailures;
    /** HTTP/2 connections, streams and the abuse that ended connections; kept across reloads. */
    private final Http2Counters http2 = new Http2Counters();
    /** QUIC connections and HTTP/3 streams; kept across reloads. */
    private final Http3Counters http3 = new Http3Counters();

    ListenerMetrics(String listener, ProxyMetrics m) {
        this.listener = listener;
        this.requests = m.requests;
        this.tlsHandshakes = m.tlsHandshakes;
        this.requestTime = m.requestTime.labels(listener);
        this.allRequests = m.allRequests;
        this.bytesIn = m.bytesIn.labels(listener);
        this.bytesOut = m.bytesOut.labels(listener);
        this.connections = m.connections.labels(listener);
        this.webSockets = m.webSockets.labels(listener);
        this.tlsFailures = m.tlsFailures.labels(listener);
    }

    public String listener() {
        return listener;
    }

    /** This listener's HTTP/2 counters (the same object for the process's life). */
    public Http2Counters http2() {
        return http2;
    }

    /** This listener's HTTP/3 counters (the same object for the process's life). */
    public Http3Counters http3() {
        return http3;
    }

    /**
     * One answered request.
     *
     * @param route    the route's name, or null when none matched
     * @param protocol {@link #HTTP_1_1} and the like
     * @param status   the status sent, 0 when none was
     * @param nanos    how long the request took; negative when it was not timed (not recorded)
     */
    public void request(String route, int protocol, int status, long nanos) {
        String key = route == null ? "-" : route;
        LongAdder[] cells = routes.get(key);
        if (cells == null) {
            cells = routes.computeIfAbsent(key, k -> new LongAdder[PROTOCOLS.length * CLASSES.length]);
        }
        int statusClass = status >= 100 && status < 600 ? status / 100 : 0;
        int cell = protocol * CLASSES.length + statusClass;
        LongAdder a = cells[cell];
        if (a == null) {
            // A benign race: labels() returns the same adder to every caller.
            a = requests.labels(listener, key, PROTOCOLS[protocol], CLASSES[statusClass]);
            cells[cell] = a;
        }
        a.increment();
        requestTime.record(nanos);
        allRequests.record(nanos);
    }

    /** Bytes read from clients. */
    public void bytesIn(long n) {
        bytesIn.add(n);
    }

    /** Bytes written to clients. */
    public void bytesOut(long n) {
        bytesOut.add(n);
    }

    public void connectionOpened() {
        connections.increment();
        activeConnections.increment();
    }

    public void connectionClosed() {
        activeConnections.decrement();
    }

    /** Open client connections now. */
    public long activeConnections() {
        return activeConnections.sum();
    }

    /** A WebSocket became established (the upstream's 101 was relayed). */
    public void webSocketOpened() {
        webSockets.increment();
        activeWebSockets.increment();
    }

    public void webSocketClosed() {
        activeWebSockets.decrement();
    }

    public long activeWebSockets() {
        return activeWebSockets.sum();
    }

    /**
     * A completed TLS handshake.
     *
     * @param version e.g. {@code TLSv1.3}
     * @param resumed whether the session was resumed (no full handshake)
     */
    public void tlsHandshake(String version, boolean resumed) {
        int v = "TLSv1.3".equals(version) ? 0 : "TLSv1.2".equals(version) ? 1 : "TLSv1.1".equals(version) ? 2 : 3;
        int cell = v * 2 + (resumed ? 1 : 0);
        LongAdder a = tlsCells[cell];
        if (a == null) {
            a = tlsHandshakes.labels(listener, v == 3 ? String.valueOf(version) : version, resumed ? "true" : "false");
            if (v < 3) {
                tlsCells[cell] = a;
            }
        }
        a.increment();
    }

    public void tlsHandshakeFailed() {
        tlsFailures.increment();
    }
}
