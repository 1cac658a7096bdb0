package io.portico.server.admin;

import io.portico.server.PorticoServer;
import io.portico.server.ReloadResult;
import io.portico.server.http1.ListenerContext;
import io.portico.server.metrics.DashboardHistory;
import io.portico.server.metrics.ListenerMetrics;
import io.portico.server.upstream.Backend;
import io.portico.server.upstream.GroupLoop;
import io.portico.server.upstream.UpstreamGroup;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The admin API's JSON documents, built from the running server on request. */
final class AdminViews {

    private final PorticoServer server;

    AdminViews(PorticoServer server) {
        this.server = server;
    }

    /** {@code /status}: version, uptime, transport, listeners, connections, config generation. */
    Object status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", PorticoServer.version());
        m.put("pid", ProcessHandle.current().pid());
        long now = System.currentTimeMillis();
        m.put("started", java.time.Instant.ofEpochMilli(server.startedMillis()).toString());
        m.put("uptime_seconds", (now - server.startedMillis()) / 1000);
        m.put("transport", server.transport().kind().name().toLowerCase(Locale.ROOT));
        m.put("transport_reason", server.transport().reason());
        m.put("event_loops", server.config().effectiveWorkers());
        m.put("tls_provider", server.tlsProviderDescription());
        m.put("config_file", server.configFile() == null ? null : server.configFile().toString());
        m.put("config_generation", server.generation());
        m.put("retired_generations", server.retiredGenerations());
        ReloadResult last = server.lastReload();
        if (last != null) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("ok", last.ok());
            r.put("at", java.time.Instant.ofEpochMilli(server.lastReloadMillis()).toString());
            r.put("error", last.error());
            m.put("last_reload", r);
        }
        Map<String, ListenerContext> contexts = server.listenerContexts();
        Map<String, ListenerMetrics> metrics = server.metrics().listeners();
        List<Object> listeners = new ArrayList<>();
        server.listenerAddresses().forEach((name, address) -> {
            Map<String, Object> l = new LinkedHashMap<>();
            ListenerContext c = contexts.get(name);
            ListenerMetrics lm = metrics.get(name);
            l.put("name", name);
            l.put("address", hostPort(address));
            l.put("scheme", c == null ? null : c.scheme());
            l.put("connections", lm == null ? 0 : lm.activeConnections());
            l.put("websockets", lm == null ? 0 : lm.activeWebSockets());
            listeners.add(l);
        });
        m.put("listeners", listeners);
        Map<String, Object> conns = new LinkedHashMap<>();
        conns.put("open", server.lifecycle().openConnections());
        conns.put("requests_in_flight", server.lifecycle().inFlight());
        conns.put("parked", server.lifecycle().parkedConnections());
        conns.put("websockets", server.metrics().activeWebSockets());
        m.put("connections", conns);
        m.put("requests_total", server.metrics().requestsTotal());
        m.put("draining", server.lifecycle().draining());
        return m;
    }

    /** {@code /upstreams}: groups, members, health, in-flight requests, pool sizes. */
    Object upstreams() {
        long now = System.nanoTime();
        List<Object> groups = new ArrayList<>();
        for (UpstreamGroup g : server.upstreams()) {
            Map<String, Object> gm = new LinkedHashMap<>();
            gm.put("name", g.name());
            gm.put("balance", g.config().balance().name().toLowerCase(Locale.ROOT));
            double reuse = g.metrics().reuseRatio();
            gm.put("reuse_ratio", Double.isNaN(reuse) ? null : reuse);
            // Each member's state and why (DOWN: "status 500", a timeout, a refused connect...), as
            // the README promises; /upstreams showed only healthy true or false.
            Map<String, io.portico.server.upstream.health.BackendStatus> states = new java.util.HashMap<>();
            for (io.portico.server.upstream.health.BackendStatus st : g.status().members()) {
                states.put(st.address(), st);
            }
            List<Object> members = new ArrayList<>();
            for (Backend b : g.backends()) {
                int idle = 0;
                for (GroupLoop gl : g.loops()) {
                    idle += gl.idleCount(b);
                }
                Map<String, Object> bm = new LinkedHashMap<>();
                bm.put("address", b.key());
                bm.put("weight", b.weight());
                bm.put("backup", b.backup());
                bm.put("healthy", b.healthy(now));
                io.portico.server.upstream.health.BackendStatus st = states.get(b.key());
                if (st != null) {
                    bm.put("state", st.state().name());
                    bm.put("reason", st.reason());
                    bm.put("last_check", st.lastCheck() == null ? null : st.lastCheck().toString());
                    bm.put("last_check_passed", st.lastCheck() == null ? null : st.lastCheckPassed());
                    bm.put("effective_weight", st.effectiveWeight());
                    bm.put("ejections", st.ejections());
                    bm.put("ejected_for_ms", st.ejectedFor().toMillis());
                }
                bm.put("in_flight", b.inFlight());
                bm.put("connections", b.openConnections());
                bm.put("idle", idle);
                bm.put("active", Math.max(0, b.openConnections() - idle));
                members.add(bm);
            }
            gm.put("members", members);
            groups.add(gm);
        }
        return Map.of("groups", groups);
    }

    /** {@code /api/dashboard}: the last minutes, one sample a second, and the members' health now. */
    Object dashboard() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("now", System.currentTimeMillis());
        m.put("generation", server.generation());
        List<DashboardHistory.Sample> samples = server.history().samples();
        List<Object> t = new ArrayList<>(samples.size());
        List<Object> rps = new ArrayList<>(samples.size());
        List<Object> p50 = new ArrayList<>(samples.size());
        List<Object> p90 = new ArrayList<>(samples.size());
        List<Object> p99 = new ArrayList<>(samples.size());
        List<Object> p999 = new ArrayList<>(samples.size());
        List<Object> conns = new ArrayList<>(samples.size());
        List<Object> ws = new ArrayList<>(samples.size());
        List<Object> hit = new ArrayList<>(samples.size());
        List<Object> up = new ArrayList<>(samples.size());
        List<Object> total = new ArrayList<>(samples.size());
        for (DashboardHistory.Sample s : samples) {
            t.add(s.time());
            rps.add(s.requestsPerSec());
            p50.add(s.p50());
            p90.add(s.p90());
            p99.add(s.p99());
            p999.add(s.p999());
            conns.add(s.connections());
            ws.add(s.webSockets());
            hit.add(s.cacheHitRatio());
            up.add(s.backendsUp());
            total.add(s.backendsTotal());
        }
        Map<String, Object> series = new LinkedHashMap<>();
        series.put("time", t);
        series.put("requests_per_sec", rps);
        series.put("p50_ms", p50);
        series.put("p90_ms", p90);
        series.put("p99_ms", p99);
        series.put("p999_ms", p999);
        series.put("connections", conns);
        series.put("websockets", ws);
        series.put("cache_hit_ratio", hit);
        series.put("backends_up", up);
        series.put("backends_total", total);
        m.put("series", series);
        m.put("upstreams", ((Map<?, ?>) upstreams()).get("groups"));
        m.put("requests_total", server.metrics().requestsTotal());
        return m;
    }

    private static String hostPort(InetSocketAddress a) {
        String host = a.getAddress().isAnyLocalAddress() ? "*" : a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
