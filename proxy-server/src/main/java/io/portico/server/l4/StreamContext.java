package io.portico.server.l4;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.portico.http.CidrSet;
import io.portico.server.limits.AccessRules;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.ListenerProtocol;
import io.portico.server.config.TransportKind;
import io.portico.server.http1.ServerLifecycle;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.ListenerTls;
import io.portico.server.listener.Transport;
import io.portico.server.log.AccessLog;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.upstream.UpstreamGroup;
import io.portico.tls.ServerTls;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Everything the connections of one stream listener share within one config generation, built
 * when the generation is and only read afterwards: the upstream groups it relays to, a backend
 * bootstrap per group and event loop, the TLS contexts when it terminates TLS, the access log.
 * A reload builds a new one for new connections; a connection keeps the one it was accepted with,
 * and counts among its {@link #openConnections() open connections} until it ends. The counters and
 * the UDP session count (for {@code max_sessions}) belong to the listener and carry over from the
 * previous generation's context.
 */
public final class StreamContext {

    /** Replaced by the relay's own handler right after connect; a bootstrap needs some handler. */
    @ChannelHandler.Sharable
    private static final class NoHandler extends ChannelInboundHandlerAdapter {
        static final NoHandler INSTANCE = new NoHandler();

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.pipeline().remove(this);
        }
    }

    private final ListenerConfig config;
    private final UpstreamGroup defaultGroup;
    private final SniRouter router;
    private final Map<UpstreamGroup, Map<EventExecutor, Bootstrap>> bootstraps;
    private final Map<UpstreamGroup, StreamHashKey> hashKeys;
    private final ListenerTls tls;
    private final AccessLog accessLog;
    private final ServerLifecycle lifecycle;
    private final CidrSet proxyTrusted;
    private final boolean spliceable;
    /** The listener's CIDR rules: a client they refuse is closed before any byte is relayed. */
    private final AccessRules access;
    private final long idleTimeoutNanos;
    private final StreamStats stats;
    /** UDP sessions of this listener across generations, for {@code max_sessions}. */
    private final AtomicInteger sessions;
    /** UDP sessions opened with this context and still open. */
    private final AtomicInteger ownSessions = new AtomicInteger();
    /** TCP client connections accepted with this context and still open (closed ones leave by themselves). */
    private final ChannelGroup clients = new DefaultChannelGroup("portico-stream", GlobalEventExecutor.INSTANCE);
    private final List<String> warnings = new ArrayList<>();

    /**
     * @param groups   every upstream group by name
     * @param tls      the listener's TLS when it terminates TLS, else null
     * @param previous the same listener's context in the previous generation, or null: its counters carry on
     */
    public StreamContext(ListenerConfig config, Map<String, UpstreamGroup> groups, EventLoopGroup workers,
                         Transport transport, AddressResolverGroup<? extends SocketAddress> resolver, ListenerTls tls,
                         AccessLog accessLog, ServerLifecycle lifecycle, StreamContext previous) {
        this.config = config;
        boolean carry = previous != null && previous.config.protocol() == config.protocol();
        this.stats = carry ? previous.stats : new StreamStats();
        this.sessions = carry ? previous.sessions : new AtomicInteger();
        this.defaultGroup = config.upstream() == null ? null : groups.get(config.upstream());
        this.tls = tls;
        this.accessLog = accessLog;
        this.lifecycle = lifecycle;
        this.proxyTrusted = CidrSet.parse(config.proxyProtocol().trusted());
        this.access = AccessRules.of(config.limits().access());
        this.idleTimeoutNanos = config.stream().idleTimeout().toNanos();
        Map<String, UpstreamGroup> routes = new LinkedHashMap<>();
        config.stream().sniRoutes().forEach((name, group) -> routes.put(name, groups.get(group)));
        this.router = routes.isEmpty() ? null : new SniRouter(routes, defaultGroup);
        List<UpstreamGroup> used = new ArrayList<>(routes.values());
        if (defaultGroup != null) {
            used.add(defaultGroup);
        }
        Map<UpstreamGroup, Map<EventExecutor, Bootstrap>> perGroup = new IdentityHashMap<>();
        Map<UpstreamGroup, StreamHashKey> keys = new IdentityHashMap<>();
        for (UpstreamGroup g : used) {
            if (perGroup.containsKey(g)) {
                continue;
            }
            keys.put(g, StreamHashKey.of(g, config.name()));
            Bootstrap base = config.protocol() == ListenerProtocol.UDP ? datagramBootstrap(transport) : new Bootstrap()
                    .channel(transport.socketChannelClass())
                    .resolver(resolver)
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, config.stream().halfClose())
                    .handler(NoHandler.INSTANCE);
            if (config.protocol() == ListenerProtocol.TCP) {
                for (String w : ListenerSockets.applyUpstreamOptions(base, g.config().socket(),
                        g.config().connectTimeout(), transport)) {
                    warnings.add("upstream " + g.name() + ": " + w);
                }
            }
            Map<EventExecutor, Bootstrap> perLoop = new IdentityHashMap<>();
            for (EventExecutor loop : workers) {
                perLoop.put(loop, base.clone((EventLoop) loop));
            }
            perGroup.put(g, Collections.unmodifiableMap(perLoop));
        }
        this.bootstraps = Collections.unmodifiableMap(perGroup);
        this.hashKeys = Collections.unmodifiableMap(keys);
        boolean epoll = transport.kind() == TransportKind.EPOLL;
        this.spliceable = epoll && config.stream().splice() && tls == null && SpliceSizeEstimator.available();
        if (spliceable) {
            warnings.add("listener " + config.name() + ": splice is on; with Netty 4.2.18 bytes still in flight"
                    + " towards a side can be lost when the other side half-closes (FIN) before they are delivered;"
                    + " use it only for protocols that do not half-close");
        }
        if (epoll && config.stream().splice() && tls == null && !SpliceSizeEstimator.available()) {
            warnings.add("listener " + config.name() + ": this Netty's splice internals are not as expected; copying instead");
        }
    }

    /** A backend socket of a UDP session: connected to one member, reading on its own. */
    private static Bootstrap datagramBootstrap(Transport transport) {
        return new Bootstrap()
                .channel(transport.datagramChannelClass())
                .handler(NoHandler.INSTANCE);
    }

    /** Takes a UDP session slot within {@code stream.max_sessions}; false when the cap is reached. */
    boolean acquireSession() {
        int max = config.stream().maxSessions();
        if (sessions.incrementAndGet() > max && max > 0) {
            sessions.decrementAndGet();
            return false;
        }
        ownSessions.incrementAndGet();
        return true;
    }

    void releaseSession() {
        ownSessions.decrementAndGet();
        sessions.decrementAndGet();
    }

    /** UDP sessions open now across the listener's sockets and generations. */
    public int sessions() {
        return sessions.get();
    }

    /** Counts a TCP client connection as this context's until it closes. */
    void connectionOpened(Channel client) {
        clients.add(client);
    }

    /** TCP connections and UDP sessions accepted with this context that are still open. */
    public int openConnections() {
        return clients.size() + ownSessions.get();
    }

    /**
     * Closes the TCP connections accepted with this context (a removed listener's drain time is
     * over). UDP sessions end with their listening socket.
     */
    public void closeConnections() {
        clients.close();
    }

    public ListenerConfig config() {
        return config;
    }

    public String name() {
        return config.name();
    }

    /** The listener's CIDR rules ({@code limits.access}). */
    AccessRules access() {
        return access;
    }

    /** This listener's counters: connections, spliced and copied relays, connect failures. */
    public StreamStats stats() {
        return stats;
    }

    /** Options the transport could not honour for backend connections. */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    UpstreamGroup defaultGroup() {
        return defaultGroup;
    }

    boolean sniRouting() {
        return router != null;
    }

    UpstreamGroup route(String serverName) {
        return router.route(serverName);
    }

    boolean terminatesTls() {
        return tls != null;
    }

    /** The TLS contexts for new connections (the newest after a reload). */
    ServerTls tls() {
        return tls.current();
    }

    boolean acceptsProxyProtocol() {
        return config.proxyProtocol().accept();
    }

    CidrSet proxyTrusted() {
        return proxyTrusted;
    }

    boolean spliceable() {
        return spliceable;
    }

    /** Whether a FIN ends one direction only (stream.half_close), on the client and the backend socket. */
    boolean halfClose() {
        return config.stream().halfClose();
    }

    long idleTimeoutNanos() {
        return idleTimeoutNanos;
    }

    ServerLifecycle lifecycle() {
        return lifecycle;
    }

    Bootstrap bootstrap(UpstreamGroup group, EventLoop loop) {
        return bootstraps.get(group).get(loop);
    }

    StreamHashKey hashKey(UpstreamGroup group) {
        return hashKeys.get(group);
    }

    /**
     * Logs one finished connection or session.
     *
     * @param sent     bytes sent to the client
     * @param received bytes received from the client
     */
    void log(InetSocketAddress client, long startMillis, long durationNanos, int status, long sent, long received,
             String upstreams, long connectNanos, String serverName, boolean spliced, String end) {
        if (!accessLog.enabled()) {
            return;
        }
        AccessLogRecord r = new AccessLogRecord();
        r.layer4 = true;
        r.remoteAddr = client == null || client.getAddress() == null ? null : NetUtil.toAddressString(client.getAddress());
        r.startEpochMillis = startMillis;
        r.protocol = config.protocol().name();
        r.status = status;
        r.bodyBytesSent = sent;
        r.bytesReceived = received;
        r.requestNanos = durationNanos;
        r.upstreamAddr = upstreams;
        r.upstreamNanos = connectNanos;
        r.host = serverName;
        r.listener = config.name();
        r.spliced = spliced;
        r.error = end;
        accessLog.log(r);
    }
}
