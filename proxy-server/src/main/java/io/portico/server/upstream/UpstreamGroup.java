package io.portico.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.portico.server.config.BackendConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.config.UpstreamProtocol;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.Transport;
import io.portico.server.upstream.balance.LoadBalancer;
import io.portico.server.upstream.balance.LoadBalancers;
import io.portico.tls.ClientTls;
import io.portico.tls.ClientTlsOptions;
import io.portico.tls.TlsConfigException;

import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An upstream group: its backends (shared) and, for each event loop, a {@link GroupLoop} with that
 * loop's balancers and pools. The map from loop to state is built once and only read afterwards.
 */
public final class UpstreamGroup {

    private final String name;
    private final UpstreamConfig config;
    private final List<Backend> backends;
    private final Map<EventExecutor, GroupLoop> loops;
    private final List<String> warnings;
    private final HashKeyExtractor hashKey;

    private UpstreamGroup(String name, UpstreamConfig config, List<Backend> backends,
                          EventLoopGroup workers, Transport transport,
                          AddressResolverGroup<? extends SocketAddress> resolver, ClientTls tls) {
        this.name = name;
        this.config = config;
        this.backends = backends;
        this.hashKey = config.balance() == io.portico.server.config.BalanceAlgorithm.CONSISTENT_HASH
                ? HashKeyExtractor.of(config.hash().key()) : HashKeyExtractor.NONE;
        Bootstrap base = new Bootstrap()
                .channel(transport.socketChannelClass())
                .resolver(resolver)
                .option(ChannelOption.AUTO_READ, false);
        this.warnings = ListenerSockets.applyUpstreamOptions(base, config.socket(), config.connectTimeout(), transport);
        List<Backend> primaries = new ArrayList<>();
        List<Backend> backups = new ArrayList<>();
        for (Backend b : backends) {
            (b.backup() ? backups : primaries).add(b);
        }
        boolean multiplexed = config.protocol() != UpstreamProtocol.HTTP1;
        ClientTls http2Tls = config.protocol() == UpstreamProtocol.H2 ? withAlpnH2(tls) : null;
        Map<EventExecutor, GroupLoop> perLoop = new IdentityHashMap<>();
        for (EventExecutor executor : workers) {
            EventLoop loop = (EventLoop) executor;
            ConnectionPool[] pools = new ConnectionPool[backends.size()];
            // HTTP/1.1 pools exist in every group: a WebSocket upgrade needs HTTP/1.1 even to an h2 backend.
            Http2ConnectionPool[] http2Pools = multiplexed ? new Http2ConnectionPool[backends.size()] : null;
            for (Backend b : backends) {
                String sni = config.tls().sni() != null ? config.tls().sni() : b.config().address().host();
                pools[b.index()] = new ConnectionPool(loop, b, base, config.pool(), tls, sni);
                if (multiplexed) {
                    http2Pools[b.index()] = new Http2ConnectionPool(loop, b, base, config.http2(),
                            config.pool().maxRequests(), config.pool().idleTimeout().toNanos(),
                            config.connectTimeout().toNanos(), http2Tls, sni);
                }
            }
            LoadBalancer<Backend> primary = LoadBalancers.create(config.balance(), primaries, config.hash().virtualNodes());
            LoadBalancer<Backend> backup = backups.isEmpty() ? null
                    : LoadBalancers.create(config.balance(), backups, config.hash().virtualNodes());
            perLoop.put(loop, new GroupLoop(this, loop, primary, backup, pools, http2Pools));
        }
        this.loops = Collections.unmodifiableMap(perLoop);
    }

    /**
     * Builds a group for every loop of {@code workers}.
     *
     * @param tls the group's client TLS context, or null for plain HTTP
     */
    public static UpstreamGroup create(String name, UpstreamConfig config, EventLoopGroup workers, Transport transport,
                                       AddressResolverGroup<? extends SocketAddress> resolver, ClientTls tls) {
        List<Backend> backends = new ArrayList<>();
        long primaries = config.backends().stream().filter(b -> !b.backup()).count();
        // As in nginx, a lone server is never marked down: there is nowhere else to send its traffic.
        int maxFails = primaries == 1 && config.backends().size() == 1 ? 0 : config.maxFails();
        for (BackendConfig bc : config.backends()) {
            backends.add(new Backend(backends.size(), bc, maxFails, config.failTimeout().toNanos()));
        }
        return new UpstreamGroup(name, config, List.copyOf(backends), workers, transport, resolver, tls);
    }

    /** The same TLS settings offering only {@code h2} in ALPN, for the HTTP/2 connections of an h2 group. */
    private static ClientTls withAlpnH2(ClientTls tls) {
        ClientTlsOptions o = tls.options();
        try {
            return ClientTls.build(new ClientTlsOptions(o.provider(), o.trust(), o.verifyHostname(),
                    o.clientCertificate(), o.protocols(), List.of(ApplicationProtocolNames.HTTP_2)));
        } catch (TlsConfigException e) {
            throw new IllegalStateException("upstream TLS worked without ALPN but not with it", e);
        }
    }

    public String name() {
        return name;
    }

    public UpstreamConfig config() {
        return config;
    }

    public List<Backend> backends() {
        return backends;
    }

    public HashKeyExtractor hashKey() {
        return hashKey;
    }

    /** Socket options the transport could not honour for this group's connections. */
    public List<String> warnings() {
        return warnings;
    }

    /** This group's state for {@code loop}; the loop must be one of the workers it was built for. */
    public GroupLoop forLoop(EventLoop loop) {
        return loops.get(loop);
    }

    /**
     * Closes idle connections and stops the pools' timers, each loop's part on that loop, and waits
     * until those connections are closed so the loops can stop cleanly afterwards. Call it from
     * outside the event loops.
     */
    public void close() {
        List<Future<List<ChannelFuture>>> parts = new ArrayList<>();
        for (GroupLoop gl : loops.values()) {
            if (!gl.loop().isShuttingDown()) {
                parts.add(gl.loop().submit(gl::close));
            }
        }
        for (Future<List<ChannelFuture>> part : parts) {
            if (part.awaitUninterruptibly(5, TimeUnit.SECONDS) && part.isSuccess()) {
                for (ChannelFuture f : part.getNow()) {
                    f.awaitUninterruptibly(5, TimeUnit.SECONDS);
                }
            }
        }
    }
}
