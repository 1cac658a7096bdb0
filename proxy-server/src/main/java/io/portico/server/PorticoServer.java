package io.portico.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.PorticoConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.demo.DemoOrigin;
import io.portico.server.http1.Http1ServerInitializer;
import io.portico.server.http1.ListenerContext;
import io.portico.server.http1.ServerLifecycle;
import io.portico.server.limits.BufferBudget;
import io.portico.server.limits.ConnectionLimits;
import io.portico.server.limits.ListenerGate;
import io.portico.server.listener.BoundListener;
import io.portico.server.listener.KernelChecks;
import io.portico.server.listener.ListenerBinder;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.Transport;
import io.portico.server.log.AccessLog;
import io.portico.server.route.Router;
import io.portico.server.upstream.UpstreamGroup;
import io.portico.server.upstream.UpstreamTls;
import io.portico.server.listener.ListenerTls;
import io.portico.tls.ClientTls;
import io.portico.tls.TlsProviders;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;
import io.portico.server.upstream.UpstreamResolver;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A running Portico: event loops, upstream groups, listeners, the access log and (when enabled)
 * the demo origin. {@link #start} builds everything from one config; {@link #shutdown} drains.
 */
public final class PorticoServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("portico");

    private final PorticoConfig config;
    private final Transport transport;
    private final EventLoopGroup workers;
    private final DnsAddressResolverGroup resolver;
    private final AccessLog accessLog;
    private final ServerLifecycle lifecycle = new ServerLifecycle();
    private final Map<String, UpstreamGroup> groups = new HashMap<>();
    private final Map<String, BoundListener> listeners = new LinkedHashMap<>();
    private final Map<String, ListenerGate> gates = new HashMap<>();
    private final ConnectionLimits connectionLimits;
    private final BufferBudget bufferBudget;
    private final List<String> warnings = new ArrayList<>();
    private DemoOrigin demo;
    private SslProvider sslProvider;
    private final List<ListenerTls> tlsListeners = new ArrayList<>();
    private ScheduledExecutorService tlsWatcher;
    private boolean stopped;

    private PorticoServer(PorticoConfig config) throws Exception {
        this.config = config;
        this.transport = Transport.select(config.transport());
        this.workers = transport.newEventLoopGroup(config.effectiveWorkers(), "portico-worker");
        this.resolver = UpstreamResolver.create(config.resolver(), transport);
        this.accessLog = AccessLog.open(config.accessLog());
        this.connectionLimits = new ConnectionLimits(config.limits().maxConnections());
        this.bufferBudget = new BufferBudget(config.limits().bufferMemory().bytes(),
                config.limits().connectionBuffer().bytes());
    }

    /** Starts everything the config names; on failure, stops what had started and rethrows. */
    public static PorticoServer start(PorticoConfig config) throws Exception {
        PorticoServer server = new PorticoServer(config);
        try {
            server.startAll();
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void startAll() throws Exception {
        if (config.demoOrigin().enabled()) {
            demo = DemoOrigin.start(config.demoOrigin(), workers, transport.serverChannelClass());
        }
        for (Map.Entry<String, UpstreamConfig> e : config.upstreams().entrySet()) {
            ClientTls clientTls = UpstreamTls.build(e.getValue().tls(), tlsProvider());
            UpstreamGroup g = UpstreamGroup.create(e.getKey(), e.getValue(), workers, transport, resolver, clientTls);
            groups.put(e.getKey(), g);
            for (String w : g.warnings()) {
                warnings.add("upstream " + e.getKey() + ": " + w);
            }
        }
        for (ListenerConfig lc : config.listeners()) {
            Router router = Router.build(config.servers(), lc.name(), groups);
            if (router == null) {
                throw new IllegalStateException("listener " + lc.name() + ": no server answers on it");
            }
            ListenerTls listenerTls = lc.tls() == null ? null
                    : ListenerTls.create(lc.name(), lc.tls(), config.tls(), tlsProvider(), warnings);
            if (listenerTls != null) {
                tlsListeners.add(listenerTls);
            }
            ListenerContext context = new ListenerContext(lc, router, config.forwarding(), accessLog, lifecycle, listenerTls,
                    bufferBudget);
            ListenerGate gate = connectionLimits.gate(lc.name(), lc.limits().maxConnections(),
                    lc.limits().maxConnectionsPerIp());
            gates.put(lc.name(), gate);
            ServerBootstrap b = new ServerBootstrap()
                    .group(workers)
                    .handler(gate)
                    .channel(transport.serverChannelClass())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new Http1ServerInitializer(context));
            for (String w : ListenerSockets.applyServerOptions(b, lc, transport)) {
                warnings.add("listener " + lc.name() + ": " + w);
            }
            listeners.put(lc.name(), ListenerBinder.bind(b, lc, transport, workers));
        }
        warnings.addAll(KernelChecks.warnings(config.listeners()));
        watchCertificates();
        report();
    }

    /** Checks certificate files for changes every {@code tls.watch_interval}, off the event loops. */
    private void watchCertificates() {
        long every = config.tls().watchInterval().toMillis();
        if (tlsListeners.isEmpty() || every == 0) {
            return;
        }
        tlsWatcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-tls-watch");
            t.setDaemon(true);
            return t;
        });
        tlsWatcher.scheduleWithFixedDelay(() -> {
            for (ListenerTls t : tlsListeners) {
                t.reload(false);
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /**
     * Re-reads every TLS listener's certificates and keys now (SIGHUP). New handshakes use them;
     * established connections are untouched. A file that fails to load keeps the old ones.
     */
    public void reloadCertificates() {
        for (ListenerTls t : tlsListeners) {
            t.reload(true);
        }
    }

    /** The TLS provider, chosen once on first use (OpenSSL through BoringSSL when it loads, else the JDK). */
    private SslProvider tlsProvider() {
        if (sslProvider == null) {
            sslProvider = TlsProviders.select(TlsProviders.Choice.valueOf(config.tls().provider().toUpperCase(Locale.ROOT)));
            LOG.log(System.Logger.Level.INFO, "tls provider " + TlsProviders.describe(sslProvider));
        }
        return sslProvider;
    }

    private void report() {
        LOG.log(System.Logger.Level.INFO, "transport " + transport.kind().name().toLowerCase() + " (" + transport.reason()
                + "), " + config.effectiveWorkers() + " event loops");
        for (BoundListener l : listeners.values()) {
            boolean tls = config.listeners().stream().anyMatch(lc -> lc.name().equals(l.name()) && lc.tls() != null);
            LOG.log(System.Logger.Level.INFO, "listener " + l.name() + " on " + (tls ? "https://" : "http://")
                    + hostPort(l.localAddress())
                    + (l.channels().size() > 1 ? " (" + l.channels().size() + " acceptors, reuse_port)" : ""));
        }
        if (demo != null) {
            LOG.log(System.Logger.Level.INFO, "demo origin on http://" + hostPort(demo.address()));
        }
        for (String w : warnings) {
            LOG.log(System.Logger.Level.WARNING, w);
        }
    }

    private static String hostPort(InetSocketAddress a) {
        if (a.getAddress().isAnyLocalAddress()) {
            return "*:" + a.getPort();
        }
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** The address a listener is bound to (useful with port 0). */
    public InetSocketAddress address(String listener) {
        BoundListener l = listeners.get(listener);
        if (l == null) {
            throw new IllegalArgumentException("no listener " + listener);
        }
        return l.localAddress();
    }

    public PorticoConfig config() {
        return config;
    }

    public Transport transport() {
        return transport;
    }

    public AccessLog accessLog() {
        return accessLog;
    }

    /** The accepting gate of a listener: its open connections and what its caps refused. */
    public ListenerGate gate(String listener) {
        return gates.get(listener);
    }

    /** The buffer memory budget: what client output buffers hold now and at most. */
    public BufferBudget bufferBudget() {
        return bufferBudget;
    }

    /** Open client connections across all listeners, as the global cap counts them. */
    public int openConnections() {
        return connectionLimits.open();
    }

    public ServerLifecycle lifecycle() {
        return lifecycle;
    }

    public UpstreamGroup upstream(String name) {
        return groups.get(name);
    }

    /** Startup warnings: options a transport cannot honour, kernel settings that will hurt. */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /**
     * Graceful shutdown: stop accepting, let in-flight requests finish (their responses close the
     * connection) for up to {@code drainTimeout}, then close everything.
     */
    public synchronized void shutdown(Duration drainTimeout) {
        if (stopped) {
            return;
        }
        stopped = true;
        for (BoundListener l : listeners.values()) {
            l.closeAsync().join();
        }
        lifecycle.startDraining();
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        while (lifecycle.inFlight() > 0 && System.nanoTime() - deadline < 0) {
            try {
                // The shutdown thread is not an event loop; polling here delays nothing else.
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (lifecycle.inFlight() > 0) {
            LOG.log(System.Logger.Level.WARNING, "drain timeout: closing " + lifecycle.inFlight() + " requests in flight");
        }
        lifecycle.closeAll();
        if (tlsWatcher != null) {
            tlsWatcher.shutdownNow();
        }
        for (ListenerTls t : tlsListeners) {
            t.close();
        }
        for (UpstreamGroup g : groups.values()) {
            g.close();
        }
        if (demo != null) {
            demo.close();
        }
        resolver.close();
        bufferBudget.close();
        // A short quiet period lets io_uring finish closes it deferred before the loops stop.
        workers.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).awaitUninterruptibly();
        accessLog.close();
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }
}
