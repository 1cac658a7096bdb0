package io.portico.server;

import io.netty.handler.codec.quic.Quic;
import io.portico.server.http3.QuicServerTls;
import io.portico.tls.TlsConfigException;

import io.portico.server.config.Http2ListenerConfig;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.ListenerProtocol;
import io.portico.server.config.PorticoConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.http1.ListenerContext;
import io.portico.server.l4.StreamContext;
import io.portico.server.listener.ListenerTls;
import io.portico.server.log.AccessLog;
import io.portico.server.route.Router;
import io.portico.server.upstream.UpstreamGroup;
import io.portico.server.upstream.UpstreamTls;
import io.portico.tls.ClientTls;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything one config builds on top of the process's fixed parts (event loops, resolver,
 * metrics): upstream groups with their pools, TLS contexts, the access log, and one
 * {@link ListenerContext} per HTTP listener and one {@link StreamContext} per tcp/udp listener.
 * New connections (and UDP sessions) get the newest generation; a connection keeps the one it was
 * accepted with, so a replaced generation is closed only once its last connection has.
 */
final class ConfigGeneration {

    final long number;
    final PorticoConfig config;
    final Map<String, UpstreamGroup> groups;
    final Map<String, ListenerTls> tls;
    final Map<String, ListenerContext> contexts;
    final Map<String, StreamContext> streams;
    final AccessLog accessLog;
    final List<String> warnings;

    private ConfigGeneration(long number, PorticoConfig config, Map<String, UpstreamGroup> groups,
                             Map<String, ListenerTls> tls, Map<String, ListenerContext> contexts,
                             Map<String, StreamContext> streams, AccessLog accessLog, List<String> warnings) {
        this.number = number;
        this.config = config;
        this.groups = Collections.unmodifiableMap(groups);
        this.tls = Collections.unmodifiableMap(tls);
        this.contexts = Collections.unmodifiableMap(contexts);
        this.streams = Collections.unmodifiableMap(streams);
        this.accessLog = accessLog;
        this.warnings = List.copyOf(warnings);
    }

    /**
     * Builds a generation. What the previous one has and this config leaves unchanged is shared
     * rather than rebuilt: the access log (same settings) and a listener's TLS contexts (same TLS
     * section; they are re-read from disk instead, so a reload also reloads certificates and
     * session tickets keep resuming). Upstream groups are always built anew, each from the previous
     * generation's group of the same name, whose members at the same addresses they start from (health
     * checks, ejections, max_fails); they check nothing until {@link #activate}. On failure everything
     * built so far is closed.
     *
     * @throws BuildException naming the config key whose part could not be built
     */
    static ConfigGeneration build(long number, PorticoConfig config, PorticoServer server, ConfigGeneration previous)
            throws BuildException {
        Map<String, UpstreamGroup> groups = new LinkedHashMap<>();
        Map<String, ListenerTls> tls = new LinkedHashMap<>();
        List<String> warnings = new ArrayList<>(config.lint());
        AccessLog accessLog = null;
        try {
            if (previous != null && previous.config.accessLog().equals(config.accessLog())) {
                accessLog = previous.accessLog;
                // As nginx's USR1: a file an external logrotate moved away is started anew.
                accessLog.reopen();
            } else {
                try {
                    accessLog = AccessLog.open(config.accessLog(), server.accessLogDropped());
                } catch (IOException | RuntimeException e) {
                    throw new BuildException("access_log.path", "cannot open the access log: " + e.getMessage(), e);
                }
            }
            for (Map.Entry<String, UpstreamConfig> e : config.upstreams().entrySet()) {
                try {
                    ClientTls clientTls = UpstreamTls.build(e.getValue().tls(), server.tlsProvider());
                    if (clientTls != null && !clientTls.options().verify()) {
                        warnings.add("upstream " + e.getKey() + ": tls.verify is false: the backends' certificates"
                                + " are not checked at all (chain, expiry, name" + (e.getValue().tls().ca() != null
                                ? "; tls.ca is not used" : "") + "), so anyone on the path can impersonate them");
                    }
                    UpstreamGroup predecessor = previous == null ? null : previous.groups.get(e.getKey());
                    UpstreamGroup g = UpstreamGroup.create(e.getKey(), e.getValue(), server.workers(), server.transport(),
                            server.resolver(), clientTls, server.metrics().upstream(e.getKey()), predecessor);
                    groups.put(e.getKey(), g);
                    for (String w : g.warnings()) {
                        warnings.add("upstream " + e.getKey() + ": " + w);
                    }
                } catch (Exception ex) {
                    throw new BuildException("upstreams." + e.getKey() + ".tls", ex.getMessage(), ex);
                }
            }
            Map<String, ListenerContext> contexts = new LinkedHashMap<>();
            Map<String, StreamContext> streams = new LinkedHashMap<>();
            for (int i = 0; i < config.listeners().size(); i++) {
                ListenerConfig lc = config.listeners().get(i);
                Router router = null;
                if (lc.protocol() == ListenerProtocol.HTTP) {
                    router = Router.build(config.servers(), lc.name(), groups, server.cache());
                    if (router == null) {
                        throw new BuildException("listeners[" + i + "]", "no server answers on listener " + lc.name(), null);
                    }
                }
                ListenerTls listenerTls = null;
                if (lc.tls() != null) {
                    listenerTls = reusableTls(previous, lc, config);
                    if (listenerTls != null) {
                        listenerTls.reload(true);
                    } else {
                        try {
                            listenerTls = ListenerTls.create(lc.name(), lc.tls(), config.tls(), server.tlsProvider(), warnings);
                        } catch (Exception ex) {
                            throw new BuildException("listeners[" + i + "].tls", ex.getMessage(), ex);
                        }
                    }
                    tls.put(lc.name(), listenerTls);
                    if (lc.http3().enabled() && Quic.isAvailable()) {
                        try {
                            QuicServerTls.check(listenerTls.current());
                        } catch (TlsConfigException ex) {
                            throw new BuildException("listeners[" + i + "].tls.certificates", ex.getMessage(), ex);
                        }
                    }
                }
                if (lc.protocol() != ListenerProtocol.HTTP) {
                    StreamContext previousStream = previous == null ? null : previous.streams.get(lc.name());
                    StreamContext sc = new StreamContext(lc, groups, server.workers(), server.transport(),
                            server.resolver(), listenerTls, accessLog, server.lifecycle(), previousStream);
                    warnings.addAll(sc.warnings());
                    streams.put(lc.name(), sc);
                    continue;
                }
                Http2ListenerConfig h2 = lc.http2();
                long allStreams = (long) h2.maxConcurrentStreams() * h2.initialWindowSize().bytes();
                if ((h2.enabled() || h2.h2c()) && h2.connectionWindowSize().bytes() < allStreams) {
                    warnings.add("listener " + lc.name() + ": http2.connection_window_size ("
                            + h2.connectionWindowSize().bytes() + " bytes) is less than max_concurrent_streams x"
                            + " initial_window_size (" + allStreams + " bytes): request bodies stalled on slow"
                            + " upstreams can fill the connection's window and hold back the other streams' uploads");
                }
                contexts.put(lc.name(), new ListenerContext(lc, router, config.forwarding(), accessLog, server.lifecycle(),
                        listenerTls, server.metrics().listener(lc.name()), server.bufferBudget(), config.listeners(),
                        previous == null ? null : previous.contexts.get(lc.name())));
            }
            return new ConfigGeneration(number, config, groups, tls, contexts, streams, accessLog, warnings);
        } catch (BuildException | RuntimeException | Error e) {
            for (UpstreamGroup g : groups.values()) {
                g.close();
            }
            for (ListenerTls t : tls.values()) {
                if (previous == null || !previous.tls.containsValue(t)) {
                    t.close();
                }
            }
            if (accessLog != null && (previous == null || accessLog != previous.accessLog)) {
                accessLog.close();
            }
            throw e;
        }
    }

    /**
     * This generation is now the one new connections get: its groups start checking (and refreshing
     * DNS), each taking over from {@code previous}'s group of the same name, whose checks of the
     * members they share stop (see {@link UpstreamGroup#activate}). Does not wait; safe from any thread.
     */
    void activate(ConfigGeneration previous) {
        for (Map.Entry<String, UpstreamGroup> e : groups.entrySet()) {
            e.getValue().activate(previous == null ? null : previous.groups.get(e.getKey()));
        }
    }

    private static ListenerTls reusableTls(ConfigGeneration previous, ListenerConfig lc, PorticoConfig config) {
        if (previous == null || !previous.config.tls().equals(config.tls())) {
            return null;
        }
        ListenerContext old = previous.contexts.get(lc.name());
        StreamContext oldStream = previous.streams.get(lc.name());
        ListenerConfig before = old != null ? old.config() : oldStream != null ? oldStream.config() : null;
        if (before == null || before.protocol() != lc.protocol() || !Objects.equals(before.tls(), lc.tls())) {
            return null;
        }
        return previous.tls.get(lc.name());
    }

    /** Client connections (and UDP sessions) still open on this generation's contexts. */
    int openConnections() {
        int n = 0;
        for (ListenerContext c : contexts.values()) {
            n += c.openConnections();
        }
        return n + openStreamConnections();
    }

    /** TCP connections and UDP sessions still open on this generation's tcp/udp listener contexts. */
    int openStreamConnections() {
        int n = 0;
        for (StreamContext c : streams.values()) {
            n += c.openConnections();
        }
        return n;
    }

    /**
     * Closes what this generation owns and no generation in {@code live} shares: pools (idle
     * connections close), TLS timers, the access log. Call it from outside the event loops.
     */
    void close(java.util.Collection<ConfigGeneration> live, boolean closeLog) {
        for (UpstreamGroup g : groups.values()) {
            g.close();
        }
        for (ListenerTls t : tls.values()) {
            if (live.stream().noneMatch(g -> g != this && g.tls.containsValue(t))) {
                t.close();
            }
        }
        if (closeLog && live.stream().noneMatch(g -> g != this && g.accessLog == accessLog)) {
            accessLog.close();
        }
    }

    /** A part of a valid config that could not be built (a certificate that does not load, say). */
    static final class BuildException extends Exception {

        private static final long serialVersionUID = 1L;

        private final String key;

        BuildException(String key, String message, Throwable cause) {
            super(message, cause);
            this.key = key;
        }

        /** The config key of the part that failed, such as {@code listeners[1].tls}. */
        String key() {
            return key;
        }
    }
}
