package io.portico.server.metrics;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.portico.server.upstream.Backend;
import io.portico.server.upstream.GroupLoop;
import io.portico.server.upstream.UpstreamGroup;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The proxy's own metrics, registered once per process in a {@link MetricsRegistry}. Hot paths hold
 * a {@link ListenerMetrics} or {@link UpstreamMetrics} and call it; gauges (connections, pools,
 * health, event-loop queues) are read at scrape time from the running state.
 */
public final class ProxyMetrics {

    private final MetricsRegistry registry;
    final AdderCounter requests;
    final LatencySummary requestTime;
    final AdderCounter bytesIn;
    final AdderCounter bytesOut;
    final AdderCounter connections;
    final AdderCounter webSockets;
    final AdderCounter tlsHandshakes;
    final AdderCounter tlsFailures;
    final LatencySummary upstreamTime;
    final LatencySummary connectTime;
    final AdderCounter upstreamRequests;
    final AdderCounter upstreamReused;
    final AdderCounter connectFailures;
    private final AdderCounter reloads;
    /** Every request's latency, across listeners: the dashboard's percentiles (not exported). */
    final LatencyRecorder allRequests = new LatencyRecorder();
    private final Map<String, ListenerMetrics> listeners = new ConcurrentHashMap<>();
    private final Map<String, UpstreamMetrics> upstreams = new ConcurrentHashMap<>();

    /**
     * @param groups the upstream groups serving new requests now (read at each scrape)
     * @param loops  the event loops, for their queue lengths
     */
    public ProxyMetrics(MetricsRegistry registry, Supplier<Collection<UpstreamGroup>> groups, EventLoopGroup loops) {
        this.registry = registry;
        requests = registry.counter("portico_requests_total", "Requests answered, by listener, route, protocol and status class.",
                "listener", "route", "protocol", "code");
        requestTime = registry.latency("portico_request_duration_seconds",
                "Time from a request's head to the last byte of its response (quantiles over the last minute).", "listener");
        bytesIn = registry.counter("portico_received_bytes_total", "Bytes read from clients (TLS records included).", "listener");
        bytesOut = registry.counter("portico_sent_bytes_total", "Bytes written to clients (TLS records included).", "listener");
        connections = registry.counter("portico_connections_total", "Client connections accepted.", "listener");
        registry.gauge("portico_connections_active", "Client connections open now.", new String[] {"listener"},
                cb -> listeners.forEach((name, l) -> cb.call(l.activeConnections(), name)));
        registry.counterCallback("portico_http2_events_total",
                "HTTP/2 connections, streams, graceful GOAWAYs, and the abuse that ended a connection with GOAWAY"
                        + " (or a stream with RST_STREAM), by listener and event.",
                new String[] {"listener", "event"},
                cb -> listeners.forEach((name, l) -> l.http2().snapshot().forEach((event, n) -> cb.call(n, name, event))));
        registry.counterCallback("portico_http3_events_total",
                "HTTP/3: QUIC connections accepted, request streams, malformed requests reset, streams refused"
                        + " after GOAWAY, graceful GOAWAYs, Retry packets sent, new connections refused over"
                        + " max_handshakes, handshakes closed at tls.handshake_timeout, by listener and event.",
                new String[] {"listener", "event"},
                cb -> listeners.forEach((name, l) -> l.http3().snapshot().forEach((event, n) -> cb.call(n, name, event))));
        registry.gauge("portico_quic_connections_active", "QUIC (HTTP/3) connections open now.", new String[] {"listener"},
                cb -> listeners.forEach((name, l) -> cb.call(l.http3().activeConnections(), name)));
        registry.gauge("portico_quic_handshakes_in_progress",
                "QUIC handshakes begun and not yet done or failed (http3.retry_threshold, http3.max_handshakes).",
                new String[] {"listener"}, cb -> listeners.forEach((name, l) -> cb.call(l.http3().handshakesInProgress(), name)));
        webSockets = registry.counter("portico_websocket_connections_total", "WebSocket connections established.", "listener");
        registry.gauge("portico_websocket_connections_active", "WebSocket connections open now.", new String[] {"listener"},
                cb -> listeners.forEach((name, l) -> cb.call(l.activeWebSockets(), name)));
        tlsHandshakes = registry.counter("portico_tls_handshakes_total", "Completed TLS handshakes by version and resumption.",
                "listener", "version", "resumed");
        tlsFailures = registry.counter("portico_tls_handshake_failures_total", "Failed TLS handshakes.", "listener");
        upstreamTime = registry.latency("portico_upstream_response_duration_seconds",
                "Time from sending a request upstream to the last byte of its response (quantiles over the last minute).",
                "upstream");
        connectTime = registry.latency("portico_upstream_connect_duration_seconds",
                "Time to open a new upstream connection, TLS included (quantiles over the last minute).", "upstream");
        upstreamRequests = registry.counter("portico_upstream_requests_total", "Requests sent to upstreams.", "upstream");
        upstreamReused = registry.counter("portico_upstream_reused_connections_total",
                "Requests sent upstream on a pooled keep-alive connection.", "upstream");
        connectFailures = registry.counter("portico_upstream_connect_failures_total",
                "Upstream connections that could not be opened.", "upstream");
        reloads = registry.counter("portico_config_reloads_total", "Config reloads by result.", "result");
        registry.gauge("portico_upstream_reuse_ratio", "Share of upstream requests sent on a pooled connection.",
                new String[] {"upstream"}, cb -> upstreams.forEach((name, u) -> {
                    double r = u.reuseRatio();
                    if (!Double.isNaN(r)) {
                        cb.call(r, name);
                    }
                }));
        String[] member = {"upstream", "backend"};
        registry.gauge("portico_upstream_pool_idle_connections", "Idle keep-alive connections in the pools.", member,
                cb -> forEachBackend(groups, (g, b, idle) -> cb.call(idle, g.name(), b.key())));
        registry.gauge("portico_upstream_pool_active_connections", "Upstream connections open and not idle.", member,
                cb -> forEachBackend(groups, (g, b, idle) -> cb.call(Math.max(0, b.openConnections() - idle), g.name(), b.key())));
        registry.gauge("portico_upstream_in_flight_requests", "Requests in flight to a backend.", member,
                cb -> forEachBackend(groups, (g, b, idle) -> cb.call(b.inFlight(), g.name(), b.key())));
        registry.gauge("portico_upstream_backend_up", "1 when a backend takes traffic, 0 while passive health marks it down.",
                member, cb -> {
                    long now = System.nanoTime();
                    forEachBackend(groups, (g, b, idle) -> cb.call(b.healthy(now) ? 1 : 0, g.name(), b.key()));
                });
        registry.gauge("portico_event_loop_pending_tasks", "Tasks waiting in each event loop's queue.", new String[] {"loop"},
                cb -> {
                    int i = 0;
                    for (EventExecutor e : loops) {
                        if (e instanceof SingleThreadEventExecutor s) {
                            cb.call(s.pendingTasks(), String.valueOf(i));
                        }
                        i++;
                    }
                });
    }

    private interface BackendVisitor {
        void visit(UpstreamGroup group, Backend backend, int idle);
    }

    private static void forEachBackend(Supplier<Collection<UpstreamGroup>> groups, BackendVisitor v) {
        for (UpstreamGroup g : groups.get()) {
            List<Backend> backends = g.backends();
            int[] idle = new int[backends.size()];
            for (GroupLoop gl : g.loops()) {
                for (Backend b : backends) {
                    // Written by its loop; a scrape reading a slightly old size is fine for a gauge.
                    idle[b.index()] += gl.idleCount(b);
                }
            }
            for (Backend b : backends) {
                v.visit(g, b, idle[b.index()]);
            }
        }
    }

    public MetricsRegistry registry() {
        return registry;
    }

    /** The metrics of the listener called {@code name} (the same object for the process's life). */
    public ListenerMetrics listener(String name) {
        return listeners.computeIfAbsent(name, n -> new ListenerMetrics(n, this));
    }

    /** The metrics of the upstream group called {@code name} (the same object for the process's life). */
    public UpstreamMetrics upstream(String name) {
        return upstreams.computeIfAbsent(name, n -> new UpstreamMetrics(n, this));
    }

    /** The names of the listeners and upstream groups that have metrics now, to {@link #restore} later. */
    public Names names() {
        return new Names(java.util.Set.copyOf(listeners.keySet()), java.util.Set.copyOf(upstreams.keySet()));
    }

    /**
     * Drops the metrics of listeners and upstream groups made since {@code before}: a reload that
     * was refused built them for a config that never ran, and their series would be scraped for
     * the process's life.
     */
    public void restore(Names before) {
        for (String name : java.util.List.copyOf(listeners.keySet())) {
            if (!before.listeners().contains(name)) {
                listeners.remove(name);
                requestTime.remove(name);
                bytesIn.remove(name);
                bytesOut.remove(name);
                connections.remove(name);
                webSockets.remove(name);
                tlsFailures.remove(name);
            }
        }
        for (String name : java.util.List.copyOf(upstreams.keySet())) {
            if (!before.upstreams().contains(name)) {
                upstreams.remove(name);
                upstreamTime.remove(name);
                connectTime.remove(name);
                upstreamRequests.remove(name);
                upstreamReused.remove(name);
                connectFailures.remove(name);
            }
        }
    }

    /** See {@link #names()}. */
    public record Names(java.util.Set<String> listeners, java.util.Set<String> upstreams) {
    }

    /** Every listener's metrics seen so far. */
    public Map<String, ListenerMetrics> listeners() {
        return Map.copyOf(listeners);
    }

    public LatencySummary requestTime() {
        return requestTime;
    }

    /** Latency of every request across listeners, for the dashboard. */
    public LatencyRecorder allRequests() {
        return allRequests;
    }

    /** WebSockets open now, across listeners. */
    public long activeWebSockets() {
        long n = 0;
        for (ListenerMetrics l : listeners.values()) {
            n += l.activeWebSockets();
        }
        return n;
    }

    /** Requests answered since start, across listeners. */
    public long requestsTotal() {
        return requests.total();
    }

    /** Counts a reload attempt: {@code ok} or {@code failed}. */
    public void reloaded(boolean ok) {
        reloads.labels(ok ? "ok" : "failed").increment();
    }
}
