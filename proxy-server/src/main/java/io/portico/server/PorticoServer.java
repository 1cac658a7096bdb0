package io.portico.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.handler.ssl.SslProvider;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.portico.server.admin.AdminServer;
import io.portico.server.config.ConfigException;
import io.portico.server.config.ConfigLoader;
import io.netty.buffer.PooledByteBufAllocator;
import io.portico.http.cache.DiskStore;
import io.portico.http.cache.CacheStats;
import io.portico.http.cache.HttpCache;
import io.portico.server.config.AdminConfig;
import io.portico.server.config.CacheConfig;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.ListenerProtocol;
import io.portico.server.l4.StreamContext;
import io.portico.server.l4.StreamInitializer;
import io.portico.server.l4.UdpInitializer;
import io.portico.server.l4.StreamStats;
import io.portico.server.config.PorticoConfig;
import io.portico.server.demo.DemoOrigin;
import io.portico.server.http1.Http1ServerInitializer;
import io.portico.server.http1.ListenerContext;
import io.portico.server.http2.Http2Counters;
import io.portico.server.http3.Http3Listener;
import io.portico.server.config.Http3ListenerConfig;
import io.netty.handler.codec.quic.Quic;
import io.portico.server.http1.ServerLifecycle;
import io.portico.server.limits.BufferBudget;
import io.portico.server.limits.ConnectionLimits;
import io.portico.server.limits.ListenerGate;
import io.portico.server.listener.BoundListener;
import io.portico.server.listener.CompactRecvByteBufAllocator;
import io.portico.server.listener.KernelChecks;
import io.portico.server.listener.ListenerBinder;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.ListenerTls;
import io.portico.server.listener.Transport;
import io.portico.server.log.AccessLog;
import io.portico.server.metrics.DashboardHistory;
import io.portico.server.metrics.MetricsRegistry;
import io.portico.server.metrics.ProxyMetrics;
import io.portico.server.upstream.UpstreamGroup;
import io.portico.server.upstream.UpstreamResolver;
import io.portico.tls.LibcryptoSigner;
import io.portico.tls.TlsConfigException;
import io.portico.tls.TlsProviders;

import java.net.InetSocketAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A running Portico: event loops, listeners, the admin listener, metrics, and the current
 * {@link ConfigGeneration} (upstream groups, TLS, access log, per-listener contexts). {@link #start}
 * builds everything from one config; {@link #reload} swaps in a new one without dropping a
 * connection; {@link #shutdown} drains.
 *
 * <p>Reload: the file is parsed and validated, then the new generation is built (a failure of
 * either changes nothing). Listeners that are new or move to another address are bound before
 * anything is swapped, so a port in use also changes nothing. Then new connections get the new
 * generation; established keep-alive connections finish the request in progress on theirs and close
 * (idle ones at once; HTTP/2 ones drain with GOAWAY), WebSockets keep theirs until they close, after
 * which the old generation's pools and timers are closed by the housekeeping thread.
 *
 * <p>tcp and udp listeners follow the same rules, as nginx's {@code stream} does on reload: new
 * connections and UDP sessions get the new generation (upstream groups, balance, SNI routes,
 * certificates); established relays keep theirs. A removed (or moved) tcp/udp listener stops
 * accepting at once; its relays carry on until they end, for at most {@code shutdown_timeout},
 * then they are closed ({@link DrainingListener}).
 */
public final class PorticoServer implements AutoCloseable {

    /**
     * Netty's default read-size policy with a smaller handle per connection, one instance for every
     * accepted connection: the policy object holds no state (each channel gets its own handle), and
     * Netty would otherwise make one per connection.
     */
    private static final RecvByteBufAllocator SHARED_RECV_ALLOCATOR = new CompactRecvByteBufAllocator();

    private static final int LOOP_STOP_WAIT_SECONDS = 10;

    private static final System.Logger LOG = System.getLogger("portico");

    private final Path configFile;
    private final Transport transport;
    private final EventLoopGroup workers;
    private final DnsAddressResolverGroup resolver;
    private final ServerLifecycle lifecycle = new ServerLifecycle();
    private final MetricsRegistry registry = new MetricsRegistry();
    private final ProxyMetrics metrics;
    private final DashboardHistory history;
    private final long startedMillis = System.currentTimeMillis();
    /** Changed under this object's monitor; readers use {@link #published}. */
    private final Map<String, ListenerSlot> listeners = new LinkedHashMap<>();
    /** A copy of {@link #listeners} for readers, who must not wait for a reload or a drain. */
    private volatile Map<String, ListenerSlot> published = Map.of();
    private final List<ConfigGeneration> retired = new CopyOnWriteArrayList<>();
    private final List<String> warnings = new CopyOnWriteArrayList<>();
    /** Every access log's dropped lines: a reload that opens a new log must not set the counter back. */
    private final LongAdder accessLogDropped = new LongAdder();
    private final ScheduledExecutorService housekeeping;
    private final String tlsProviderChoice;
    /** The admin listener's own loop: it outlives admin rebinds, so a reload can answer the request that asked for it. */
    private EventLoopGroup adminLoop;
    private volatile ConfigGeneration current;
    private volatile ReloadResult lastReload;
    private volatile long lastReloadMillis;
    /** Shared by every config generation: a reload keeps what is cached. */
    private final HttpCache cache;
    /** The metrics' listeners and groups when the reload under way began: a refused one drops what it added. */
    private ProxyMetrics.Names metricsBeforeReload;
    /** tcp/udp listeners a reload removed or moved, whose relays are draining. */
    private final List<DrainingListener> drainingStreams = new CopyOnWriteArrayList<>();
    /** HTTP/3 sides of HTTP listeners a reload removed or moved, open while their QUIC connections finish. */
    private final List<DrainingHttp3> drainingHttp3 = new CopyOnWriteArrayList<>();
    private final ConnectionLimits connectionLimits;
    private final BufferBudget bufferBudget;
    private DemoOrigin demo;
    private volatile SslProvider sslProvider;
    private volatile AdminServer admin;
    private boolean stopped;

    /**
     * A listener's sockets and the context its next connection gets: a {@link ListenerContext} for
     * an HTTP listener, a {@link StreamContext} for a tcp/udp one (null while it drains).
     */
    private static final class ListenerSlot {
        final ListenerConfig config;
        volatile ListenerContext context;
        volatile StreamContext stream;
        BoundListener bound;
        /**
         * The accepting gate (caps, and the count of open connections they apply to) on the sockets
         * {@link #bound} holds, shared with the HTTP/3 side; null for udp. The listener keeps it when
         * a reload binds its sockets again (moved, new socket options, or its old sockets back after
         * a refused reload): the connections the old sockets accepted go on counting. The caps
         * change only once a reload is committed ({@link #applyCaps}).
         */
        ListenerGate gate;
        /** The UDP side serving HTTP/3, or null; it follows the slot through reloads. */
        volatile Http3Listener http3;
        /** The settings {@link #http3} was started with. */
        Http3ListenerConfig http3Config;

        ListenerSlot(ListenerConfig config, ConfigGeneration gen) {
            this.config = config;
            use(gen);
        }

        void use(ConfigGeneration gen) {
            context = gen.contexts.get(config.name());
            stream = gen.streams.get(config.name());
        }

        boolean isStream() {
            return config.protocol() != ListenerProtocol.HTTP;
        }
    }

    /**
     * A tcp/udp listener a reload removed or moved: it accepts nothing new; a udp listener keeps
     * its socket for the sessions it has (their replies leave from it). Once those connections
     * and sessions have ended, or at {@code deadlineNanos}, the rest are closed.
     *
     * @param bound the udp listener's sockets, still open; null for tcp (closed at once)
     */
    private record DrainingListener(String name, BoundListener bound, List<StreamContext> contexts,
                                    long deadlineNanos) {
        int open() {
            int n = 0;
            for (StreamContext c : contexts) {
                n += c.openConnections();
            }
            return n;
        }
    }

    /**
     * The UDP side of an HTTP listener a reload removed or moved: its QUIC connections were told
     * GOAWAY; the sockets close once they are gone, or at {@code deadlineNanos}.
     */
    private record DrainingHttp3(String name, Http3Listener http3, long deadlineNanos) {
    }

    private PorticoServer(PorticoConfig config, Path configFile) throws Exception {
        this.configFile = configFile;
        this.tlsProviderChoice = config.tls().provider().toUpperCase(Locale.ROOT);
        this.transport = Transport.select(config.transport());
        this.workers = transport.newEventLoopGroup(config.effectiveWorkers(), "portico-worker");
        this.resolver = UpstreamResolver.create(config.resolver(), transport);
        this.connectionLimits = new ConnectionLimits(config.limits().maxConnections());
        this.bufferBudget = new BufferBudget(config.limits().bufferMemory().bytes(),
                config.limits().connectionBuffer().bytes(), config.limits().http2ConnectionBuffer().bytes(),
                lifecycle.gates());
        this.metrics = new ProxyMetrics(registry, this::currentGroups, workers);
        this.history = new DashboardHistory(metrics);
        registry.counterCallback("portico_access_log_dropped_total",
                "Access log lines dropped (queue full or write failed).", new String[0],
                cb -> cb.call(accessLogDropped.sum()));
        registry.gauge("portico_config_generation", "The config generation new connections get.", new String[0],
                cb -> cb.call(generation()));
        this.housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "portico-housekeeping");
            t.setDaemon(true);
            return t;
        });
        this.cache = new HttpCache(config.cache().memorySize().bytes(), PooledByteBufAllocator.DEFAULT,
                openDiskTier(config.cache(), warnings));
        registerCacheMetrics(registry, cache);
    }

    /** The cache's counters and sizes, read at scrape time (the dashboard's hit ratio reads the first two). */
    private static void registerCacheMetrics(MetricsRegistry registry, HttpCache cache) {
        String[] none = new String[0];
        registry.counterCallback("portico_cache_hits_total", "Responses served from the cache, fresh or stale.", none,
                cb -> cb.call(cache.stats().hits()));
        registry.counterCallback("portico_cache_misses_total", "Cache lookups that went to the origin.", none,
                cb -> cb.call(cache.stats().misses()));
        registry.counterCallback("portico_cache_stale_served_total",
                "Stale responses served (stale-while-revalidate, stale-if-error, grace).", none,
                cb -> cb.call(cache.stats().staleServed()));
        registry.counterCallback("portico_cache_revalidated_total", "Stored responses revalidated with the origin.", none,
                cb -> cb.call(cache.stats().revalidated()));
        registry.counterCallback("portico_cache_collapsed_total",
                "Requests that joined a fetch already in flight instead of going to the origin.", none,
                cb -> cb.call(cache.stats().collapsed()));
        registry.counterCallback("portico_cache_stored_total", "Responses stored.", none,
                cb -> cb.call(cache.stats().stored()));
        registry.counterCallback("portico_cache_bypassed_total", "Requests on caching routes that bypassed the cache.",
                none, cb -> cb.call(cache.stats().bypassed()));
        registry.counterCallback("portico_cache_evicted_total", "Objects evicted from the memory tier.", none,
                cb -> cb.call(cache.stats().evicted()));
        registry.counterCallback("portico_cache_purged_total", "Objects purged or invalidated.", none,
                cb -> cb.call(cache.stats().purged()));
        registry.counterCallback("portico_cache_served_bytes_total", "Body bytes served from the cache.", none,
                cb -> cb.call(cache.stats().bytesServed()));
        registry.counterCallback("portico_cache_sendfile_bytes_total",
                "Body bytes of cache hits sent from the disk tier's files with sendfile (part of the served bytes).",
                none, cb -> cb.call(cache.stats().bytesFromFiles()));
        registry.gauge("portico_cache_open_files", "Disk-tier files kept open to send large bodies from.",
                new String[0], cb -> cb.call(cache.stats().openFiles()));
        registry.gauge("portico_cache_bytes", "Bytes stored, by tier.", new String[] {"tier"}, cb -> {
            CacheStats.Snapshot s = cache.stats();
            cb.call(s.storedBytes(), "memory");
            cb.call(s.diskBytes(), "disk");
        });
        registry.gauge("portico_cache_objects", "Objects stored, by tier.", new String[] {"tier"}, cb -> {
            CacheStats.Snapshot s = cache.stats();
            cb.call(s.objects(), "memory");
            cb.call(s.diskObjects(), "disk");
        });
    }

    /** The cache's disk tier, or null when none is configured or its directory is unusable (then memory only). */
    private static DiskStore openDiskTier(CacheConfig config, List<String> warnings) {
        if (config.diskPath() == null) {
            return null;
        }
        try {
            DiskStore disk = DiskStore.open(Path.of(config.diskPath()), config.diskSize().bytes(),
                    PooledByteBufAllocator.DEFAULT, config.sendfile() ? config.sendfileMinSize().bytes() : 0);
            LOG.log(System.Logger.Level.INFO, "cache disk tier " + config.diskPath() + ": " + disk.objects()
                    + " objects, " + disk.usedBytes() + " bytes found");
            return disk;
        } catch (IOException | RuntimeException e) {
            warnings.add("cache disk tier off, memory only: " + config.diskPath() + ": " + e);
            return null;
        }
    }

    /** Starts everything the config names; on failure, stops what had started and rethrows. */
    public static PorticoServer start(PorticoConfig config) throws Exception {
        return start(config, null);
    }

    /**
     * Starts everything the config names, remembering {@code configFile} for {@link #reload()};
     * on failure, stops what had started and rethrows.
     */
    public static PorticoServer start(PorticoConfig config, Path configFile) throws Exception {
        PorticoServer server = new PorticoServer(config, configFile);
        try {
            server.startAll(config);
        } catch (Exception | Error e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void startAll(PorticoConfig config) throws Exception {
        if (config.demoOrigin().enabled()) {
            demo = DemoOrigin.start(config.demoOrigin(), workers, transport.serverChannelClass());
        }
        ConfigGeneration gen;
        try {
            gen = ConfigGeneration.build(1, config, this, null);
        } catch (ConfigGeneration.BuildException e) {
            throw new IllegalStateException(e.key() + ": " + e.getMessage(), e);
        }
        current = gen;
        gen.activate(null);
        warnings.addAll(gen.warnings);
        for (ListenerConfig lc : config.listeners()) {
            ListenerSlot slot = new ListenerSlot(lc, gen);
            bind(slot, warnings);
            listeners.put(lc.name(), slot);
        }
        published = Collections.unmodifiableMap(new LinkedHashMap<>(listeners));
        warnings.addAll(KernelChecks.warnings(config.listeners()));
        if (config.admin().enabled()) {
            admin = startAdmin(config.admin());
        }
        long watch = config.tls().watchInterval().toMillis();
        if (watch > 0) {
            housekeeping.scheduleWithFixedDelay(this::watchCertificates, watch, watch, TimeUnit.MILLISECONDS);
        }
        housekeeping.scheduleAtFixedRate(this::tick, 1, 1, TimeUnit.SECONDS);
        LOG.log(System.Logger.Level.INFO, StartupReport.render(this));
    }

    private void bind(ListenerSlot slot, List<String> warningsOut) {
        bind(slot, null, warningsOut);
    }

    /**
     * Binds {@code slot}'s sockets; a tcp or HTTP listener's accept through {@code gate}, the gate
     * of the sockets they replace (its caps stay as they are until {@link #applyCaps}), or through
     * a new one with the slot's caps when null.
     */
    private void bind(ListenerSlot slot, ListenerGate gate, List<String> warningsOut) {
        ListenerConfig lc = slot.config;
        if (lc.protocol() == ListenerProtocol.UDP) {
            Bootstrap udp = new Bootstrap()
                    .group(workers)
                    .channel(transport.datagramChannelClass())
                    .handler(new UdpInitializer(lc.name(), () -> slot.stream));
            for (String w : ListenerSockets.applyDatagramOptions(udp, lc, transport)) {
                warningsOut.add(w);
            }
            slot.bound = ListenerBinder.bind(udp, lc, transport, workers);
            return;
        }
        if (gate == null) {
            gate = connectionLimits.gate(lc.name(), lc.limits().maxConnections(), lc.limits().maxConnectionsPerIp());
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(workers)
                .handler(gate)
                .channel(transport.serverChannelClass())
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, SHARED_RECV_ALLOCATOR);
        if (lc.protocol() == ListenerProtocol.TCP) {
            // ALLOW_HALF_CLOSURE is set per connection from the listener's stream.half_close.
            b.childHandler(new StreamInitializer(() -> slot.stream));
        } else {
            b.childHandler(new Http1ServerInitializer(() -> slot.context));
        }
        for (String w : ListenerSockets.applyServerOptions(b, lc, transport)) {
            warningsOut.add("listener " + lc.name() + ": " + w);
        }
        slot.bound = ListenerBinder.bind(b, lc, transport, workers);
        slot.gate = gate;
        try {
            startHttp3(slot, lc, warningsOut);
        } catch (RuntimeException e) {
            slot.bound.closeAsync().join();
            throw e;
        }
    }

    /**
     * Starts the listener's HTTP/3 side on the TCP side's port when its config asks for it and QUIC
     * can run here; without the QUIC natives the TCP side keeps serving, with a warning saying why.
     */
    private void startHttp3(ListenerSlot slot, ListenerConfig lc, List<String> warningsOut) {
        slot.http3Config = lc.http3();
        if (!lc.http3().enabled()) {
            return;
        }
        if (!Quic.isAvailable()) {
            warningsOut.add("listener " + lc.name() + ": http3 is off, the QUIC natives cannot load on this platform ("
                    + Quic.unavailabilityCause() + "); HTTP/1.1 and HTTP/2 are served as usual");
            return;
        }
        int port = slot.bound.localAddress().getPort();
        slot.http3 = Http3Listener.bind(lc, port, transport, workers, () -> slot.context, lifecycle,
                metrics.listener(lc.name()).http3(), slot.gate, warningsOut);
        slot.context.advertiseHttp3(port);
    }

    /** Follows a reload on a listener that keeps its TCP sockets: new QUIC transport settings restart the UDP side. */
    private void reloadHttp3(ListenerSlot slot, ListenerConfig lc, List<String> changes, List<String> notes) {
        if (slot.http3Config != null && lc.http3().sameTransport(slot.http3Config)) {
            slot.http3Config = lc.http3();
            if (slot.http3 != null) {
                slot.context.advertiseHttp3(slot.bound.localAddress().getPort());
            }
            return;
        }
        closeHttp3(slot);
        try {
            startHttp3(slot, lc, notes);
            changes.add("listener " + lc.name() + ": http3 " + (slot.http3 != null ? "restarted with new settings" : "off"));
        } catch (RuntimeException e) {
            notes.add("listener " + lc.name() + ": http3 could not start: " + e.getMessage());
        }
    }

    private static void closeHttp3(ListenerSlot slot) {
        if (slot.http3 != null) {
            slot.http3.close();
            slot.http3 = null;
        }
    }

    /** Closes a listener's TCP sockets and its UDP side. */
    private static void closeSockets(ListenerSlot slot) {
        slot.bound.closeAsync().join();
        closeHttp3(slot);
    }

    /**
     * An HTTP listener leaves (removed, or moved to another address): its TCP side stops accepting
     * now and its connections drain as their context's do; its QUIC connections get GOAWAY and its
     * UDP sockets stay open until their streams in flight are done, for at most {@code timeout}.
     */
    private void retireSockets(ListenerSlot slot, Duration timeout) {
        slot.bound.closeAsync().join();
        Http3Listener h3 = slot.http3;
        if (h3 != null) {
            slot.http3 = null;
            h3.drain();
            drainingHttp3.add(new DrainingHttp3(slot.config.name(), h3, System.nanoTime() + timeout.toNanos()));
        }
    }

    /** Closes the UDP sockets of removed HTTP/3 sides whose connections are gone or whose time is up. */
    private void checkDrainingHttp3(boolean force) {
        long now = System.nanoTime();
        for (DrainingHttp3 d : drainingHttp3) {
            int open = d.http3().openConnections();
            if (open > 0 && !force && now - d.deadlineNanos() < 0) {
                continue;
            }
            drainingHttp3.remove(d);
            if (open > 0) {
                LOG.log(System.Logger.Level.WARNING, "removed listener " + d.name() + ": drain time over, closing "
                        + open + " QUIC connections");
            }
            d.http3().close();
        }
    }

    /**
     * A tcp/udp listener leaves: it stops accepting now, and its relays get until
     * {@code shutdown_timeout} from now to end ({@link #tick} closes what is left).
     */
    private void drainStream(ListenerSlot slot, ConfigGeneration next, Duration timeout) {
        slot.stream = null;
        List<StreamContext> contexts = new ArrayList<>();
        for (ConfigGeneration g : liveGenerations()) {
            StreamContext c = g.streams.get(slot.config.name());
            // The new generation's context of a moved listener is the new sockets'.
            if (c != null && g != next) {
                contexts.add(c);
            }
        }
        BoundListener keep = null;
        if (slot.config.protocol() == ListenerProtocol.UDP) {
            keep = slot.bound;
        } else {
            slot.bound.closeAsync().join();
        }
        drainingStreams.add(new DrainingListener(slot.config.name(), keep, contexts,
                System.nanoTime() + timeout.toNanos()));
    }

    /** Ends the drain of removed tcp/udp listeners whose relays are gone or whose time is up. */
    private void checkDrainingStreams(boolean force) {
        long now = System.nanoTime();
        for (DrainingListener d : drainingStreams) {
            boolean empty = d.open() == 0;
            if (!empty && !force && now - d.deadlineNanos() < 0) {
                continue;
            }
            drainingStreams.remove(d);
            if (!empty) {
                LOG.log(System.Logger.Level.WARNING, "removed listener " + d.name() + ": drain time over, closing "
                        + d.open() + " connections");
                for (StreamContext c : d.contexts()) {
                    c.closeConnections();
                }
            }
            if (d.bound() != null) {
                d.bound().closeAsync().join();
            }
        }
    }

    /** Once a second: the dashboard's sample, and closing replaced generations whose connections are gone. */
    private void tick() {
        try {
            int up = 0;
            int total = 0;
            long now = System.nanoTime();
            for (UpstreamGroup g : currentGroups()) {
                for (var b : g.backends()) {
                    total++;
                    up += b.healthy(now) ? 1 : 0;
                }
            }
            history.backendHealth(up, total);
            history.sample(lifecycle.openConnections());
            checkDrainingStreams(false);
            checkDrainingHttp3(false);
            for (ConfigGeneration g : retired) {
                if (g.openConnections() == 0) {
                    retired.remove(g);
                    g.close(liveGenerations(), true);
                    LOG.log(System.Logger.Level.DEBUG, "config generation " + g.number + " closed");
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "housekeeping failed", e);
        }
    }

    /** TCP connections and UDP sessions open across the live generations. */
    private int openStreamConnections() {
        int n = 0;
        for (ConfigGeneration g : liveGenerations()) {
            n += g.openStreamConnections();
        }
        return n;
    }

    private List<ConfigGeneration> liveGenerations() {
        List<ConfigGeneration> live = new ArrayList<>(retired);
        if (current != null) {
            live.add(current);
        }
        return live;
    }

    /** Checks certificate files for changes every {@code tls.watch_interval}, off the event loops. */
    private void watchCertificates() {
        ConfigGeneration gen = current;
        if (gen != null) {
            for (ListenerTls t : gen.tls.values()) {
                t.reload(false);
            }
        }
    }

    /**
     * Re-reads every TLS listener's certificates and keys now. New handshakes use them;
     * established connections are untouched. A file that fails to load keeps the old ones.
     */
    public void reloadCertificates() {
        ConfigGeneration gen = current;
        if (gen != null) {
            for (ListenerTls t : gen.tls.values()) {
                t.reload(true);
            }
        }
    }

    /**
     * Re-reads the config file this server was started with and swaps it in (SIGHUP, POST /reload).
     * A file that does not parse or validate, or a part that cannot be built, changes nothing and
     * the result says why, with file, line and key.
     */
    public ReloadResult reload() {
        if (configFile == null) {
            return record(ReloadResult.failed(generation(), "this server was started without a config file to re-read"));
        }
        PorticoConfig next;
        try {
            next = ConfigLoader.load(configFile);
        } catch (ConfigException e) {
            return record(ReloadResult.failed(generation(), e.getMessage()));
        }
        return apply(next, configFile.toString());
    }

    /**
     * Runs {@link #reload()} on the housekeeping thread, so neither an event loop nor a signal
     * handler waits for it; reloads run one at a time.
     */
    public java.util.concurrent.CompletableFuture<ReloadResult> reloadAsync() {
        try {
            return java.util.concurrent.CompletableFuture.supplyAsync(this::reload, housekeeping);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            return java.util.concurrent.CompletableFuture.completedFuture(
                    ReloadResult.failed(generation(), "the server is shutting down"));
        }
    }

    /** Swaps in {@code next} as {@link #reload()} does; {@code source} names it in messages. */
    public synchronized ReloadResult apply(PorticoConfig next, String source) {
        if (stopped) {
            return record(ReloadResult.failed(generation(), "the server is shutting down"));
        }
        ConfigGeneration old = current;
        metricsBeforeReload = metrics.names();
        String token;
        try {
            token = next.admin().enabled() ? AdminServer.readToken(next.admin()) : null;
        } catch (IllegalStateException e) {
            return record(ReloadResult.failed(old.number, source + ": " + e.getMessage()));
        }
        List<String> changes = new ArrayList<>();
        List<String> notes = new ArrayList<>(restartOnly(old.config, next));
        ConfigGeneration gen;
        try {
            gen = ConfigGeneration.build(old.number + 1, next, this, old);
        } catch (ConfigGeneration.BuildException e) {
            return record(ReloadResult.failed(old.number, source + ": " + e.key() + ": " + e.getMessage()));
        } catch (RuntimeException e) {
            // A part the config's checks let through and that still cannot be built: refused and said
            // so, rather than lost (SIGHUP has no one to hand an exception to).
            LOG.log(System.Logger.Level.WARNING, "reload: cannot build the new config", e);
            return record(ReloadResult.failed(old.number, source + ": " + e));
        }
        notes.addAll(gen.warnings);

        // Bind what is new or moves to another address first: a port in use must change nothing.
        // A listener whose sockets must be replaced where they are (other socket options, or a move
        // onto its own port, as from 127.0.0.1:8080 to *:8080) closes its old ones first, and gets
        // them back if the new ones cannot bind; either way a failure refuses the whole reload.
        Map<String, ListenerSlot> fresh = new LinkedHashMap<>();
        Map<String, ListenerSlot> rebound = new LinkedHashMap<>();
        for (int i = 0; i < next.listeners().size(); i++) {
            ListenerConfig lc = next.listeners().get(i);
            ListenerSlot slot = listeners.get(lc.name());
            if (slot != null && sameSockets(slot.config, lc)) {
                continue;
            }
            boolean sameAddress = slot != null && slot.config.address().equals(lc.address());
            RuntimeException failure = null;
            ListenerGate gate = slot == null ? null : slot.gate;
            if (!sameAddress) {
                ListenerSlot s = new ListenerSlot(lc, gen);
                try {
                    bind(s, gate, notes);
                    fresh.put(lc.name(), s);
                    continue;
                } catch (RuntimeException e) {
                    failure = e;
                }
            }
            if (slot == null && addressInUse(failure)) {
                // A new name where a listener the new config drops holds the port: a renamed
                // listener (an unnamed one is named by its address, so 127.0.0.1:8080 written as
                // localhost:8080 is one too). The old one closes to make room, as a move onto its
                // own port does, and is restored if this one cannot bind.
                ListenerSlot gone = renamedFrom(lc, next, rebound.keySet());
                if (gone != null) {
                    closeSockets(gone);
                    rebound.put(gone.config.name(), null);
                    ListenerSlot s = new ListenerSlot(lc, gen);
                    try {
                        bind(s, null, notes);
                        fresh.put(lc.name(), s);
                        continue;
                    } catch (RuntimeException e) {
                        failure = e;
                    }
                }
            }
            boolean inPlace = sameAddress || slot != null && holdsPort(slot, lc);
            if (inPlace) {
                closeSockets(slot);
                ListenerSlot s = new ListenerSlot(lc, gen);
                try {
                    bind(s, gate, notes);
                    rebound.put(lc.name(), s);
                    continue;
                } catch (RuntimeException e) {
                    failure = e;
                    rebound.put(lc.name(), null);
                }
            }
            String lost = undoBinds(fresh, rebound, old);
            gen.close(List.of(old), true);
            String key = sameAddress ? "listeners[" + i + "]" : "listeners[" + i + "].address";
            return record(ReloadResult.failed(old.number, source + ": " + key + ": " + failure.getMessage()
                    + (inPlace ? " (new sockets in place of the old ones)" : "") + lost));
        }
        // The admin listener too: a reload that moves it onto a port in use must not lose it.
        boolean adminMoves = old.config.admin().enabled() != next.admin().enabled()
                || !old.config.admin().address().equals(next.admin().address());
        AdminServer movedAdmin = null;
        if (adminMoves && next.admin().enabled()) {
            try {
                movedAdmin = startAdmin(next.admin());
            } catch (RuntimeException e) {
                int port = next.admin().address().port();
                if (admin == null || port == 0 || admin.address().getPort() != port) {
                    String lost = undoBinds(fresh, rebound, old);
                    gen.close(List.of(old), true);
                    return record(ReloadResult.failed(old.number, source + ": admin.address: " + e.getMessage() + lost));
                }
                // The running admin listener holds that port (127.0.0.1:9901 to *:9901): it moves once that one closes.
            }
        }

        current = gen;
        retired.add(old);
        // The new groups check from now on; the old ones stop checking the members they share.
        gen.activate(old);
        Map<String, ListenerSlot> before = new LinkedHashMap<>(listeners);
        listeners.clear();
        for (ListenerConfig lc : next.listeners()) {
            ListenerSlot slot = before.remove(lc.name());
            ListenerSlot moved = fresh.get(lc.name());
            ListenerSlot replaced = rebound.get(lc.name());
            if (replaced != null) {
                // Its old sockets closed above; a tcp listener's relays carry on, a udp one's sessions ended.
                listeners.put(lc.name(), replaced);
                changes.add("listener " + lc.name() + (slot.config.address().equals(lc.address())
                        ? " rebound with new socket options" : " moved to " + lc.address()));
                applyCaps(replaced.gate, lc, changes);
            } else if (moved != null) {
                if (slot != null && slot.isStream()) {
                    drainStream(slot, gen, next.shutdownTimeout());
                    changes.add("listener " + lc.name() + " moved to " + lc.address() + " (its connections drain)");
                } else if (slot != null) {
                    retireSockets(slot, next.shutdownTimeout());
                    changes.add("listener " + lc.name() + " moved to " + lc.address());
                } else {
                    changes.add("listener " + lc.name() + " added on " + hostPort(moved.bound.localAddress()));
                }
                listeners.put(lc.name(), moved);
                applyCaps(moved.gate, lc, changes);
            } else {
                // The sockets stay (their initializers read this slot); new connections get the new context.
                slot.use(gen);
                reloadHttp3(slot, lc, changes, notes);
                listeners.put(lc.name(), slot);
                // After the new context: a client let in by a raised cap gets the new config.
                applyCaps(slot.gate, lc, changes);
            }
        }
        for (ListenerSlot removed : before.values()) {
            if (removed.isStream()) {
                drainStream(removed, gen, next.shutdownTimeout());
                changes.add("listener " + removed.config.name() + " removed (its connections drain for up to "
                        + next.shutdownTimeout().toSeconds() + "s)");
                continue;
            }
            retireSockets(removed, next.shutdownTimeout());
            for (ConfigGeneration g : liveGenerations()) {
                ListenerContext c = g.contexts.get(removed.config.name());
                if (c != null && g != gen) {
                    c.drain();
                }
            }
            changes.add("listener " + removed.config.name() + " removed (its connections drain)");
        }
        // Keep-alive and HTTP/2 connections of the replaced config finish what they are serving and
        // close (as nginx's old workers do), so the next request gets the new config and the old
        // generation is not held open by a client that keeps its connection busy. WebSockets stay.
        for (ListenerContext c : old.contexts.values()) {
            c.retire();
        }
        published = Collections.unmodifiableMap(new LinkedHashMap<>(listeners));
        if (!old.config.upstreams().keySet().equals(next.upstreams().keySet())
                || !old.config.upstreams().equals(next.upstreams())) {
            changes.add("upstream groups rebuilt (members at the same address keep their health): "
                    + next.upstreams().keySet());
        }
        if (adminMoves) {
            changes.add(moveAdmin(next, movedAdmin, old.config, token, notes));
        } else if (admin != null) {
            // Same socket: only the token can have changed (its file may have, too).
            admin.refreshToken(token);
        }
        for (String n : notes) {
            LOG.log(System.Logger.Level.WARNING, "reload: " + n);
        }
        LOG.log(System.Logger.Level.INFO, "config reloaded from " + source + ": generation " + gen.number
                + (changes.isEmpty() ? "" : "; " + String.join("; ", changes)));
        return record(new ReloadResult(true, gen.number, null, changes, notes));
    }

    /**
     * Gives a listener's gate (kept across the reload, whether or not its sockets were) the new
     * {@code limits.max_connections} and {@code max_connections_per_ip}, saying so in
     * {@code changes}. Nothing is closed: the connections open now go on counting, and over a
     * lowered cap the listener accepts no new one until enough of them have closed.
     */
    private static void applyCaps(ListenerGate gate, ListenerConfig lc, List<String> changes) {
        if (gate == null) {
            return;
        }
        int max = lc.limits().maxConnections();
        int perIp = lc.limits().maxConnectionsPerIp();
        int oldMax = gate.maxConnections();
        int oldPerIp = gate.maxConnectionsPerIp();
        if (max == oldMax && perIp == oldPerIp) {
            return;
        }
        // Read before the new caps let anyone in: what was open when they came into force.
        int open = gate.open();
        gate.caps(max, perIp);
        if (max != oldMax) {
            changes.add("listener " + lc.name() + ": limits.max_connections " + cap(max) + " (was " + cap(oldMax) + ")"
                    + (max > 0 && open >= max ? "; its " + open + " open connections stay open, and it accepts no"
                    + " new one until fewer than " + max + " are" : ""));
        }
        if (perIp != oldPerIp) {
            changes.add("listener " + lc.name() + ": limits.max_connections_per_ip " + cap(perIp) + " (was "
                    + cap(oldPerIp) + ")" + (perIp > 0 && (oldPerIp == 0 || perIp < oldPerIp)
                    ? "; open connections stay open and count against it, a client address at it gets no new one"
                    : ""));
        }
    }

    private static String cap(int n) {
        return n > 0 ? Integer.toString(n) : "none";
    }

    /**
     * The running listener that {@code lc}, a name the running config does not have, takes over: one
     * the new config drops that holds {@code lc}'s port with the same protocol and has not been
     * closed for another already; null when there is none.
     */
    private ListenerSlot renamedFrom(ListenerConfig lc, PorticoConfig next, java.util.Set<String> closed) {
        for (ListenerSlot candidate : listeners.values()) {
            String name = candidate.config.name();
            boolean dropped = next.listeners().stream().noneMatch(l -> l.name().equals(name));
            if (dropped && !closed.contains(name) && holdsPort(candidate, lc)) {
                return candidate;
            }
        }
        return null;
    }

    /** Whether a bind failed because the address is taken (the JDK's BindException, or Netty's native message). */
    private static boolean addressInUse(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException
                    || t.getMessage() != null && t.getMessage().contains("Address already in use")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code slot}'s sockets hold the port {@code lc} moves to, so that binding it before
     * they close would fail (127.0.0.1:8080 to *:8080, or to 127.0.0.2:8080 with its own sockets on
     * the wildcard).
     */
    private static boolean holdsPort(ListenerSlot slot, ListenerConfig lc) {
        int port = lc.address().port();
        return port != 0 && slot.bound.localAddress().getPort() == port
                && slot.config.protocol() == lc.protocol();
    }

    /**
     * Undoes a refused reload's binds: closes the sockets bound for the new config, and binds the
     * old config's sockets again where they were closed to make room ({@code rebound}: the new
     * slot, or null where the new one could not bind). Returns what could not be restored, for the
     * reload's message ("" when all was).
     */
    private String undoBinds(Map<String, ListenerSlot> fresh, Map<String, ListenerSlot> rebound, ConfigGeneration old) {
        for (ListenerSlot f : fresh.values()) {
            closeSockets(f);
        }
        StringBuilder lost = new StringBuilder();
        for (Map.Entry<String, ListenerSlot> r : rebound.entrySet()) {
            if (r.getValue() != null) {
                closeSockets(r.getValue());
            }
            ListenerSlot previous = listeners.get(r.getKey());
            ListenerSlot back = new ListenerSlot(previous.config, old);
            List<String> ignored = new ArrayList<>();
            try {
                bind(back, previous.gate, ignored);
                listeners.put(r.getKey(), back);
            } catch (RuntimeException e) {
                // Gone until a reload or restart binds it anew.
                listeners.remove(r.getKey());
                LOG.log(System.Logger.Level.ERROR, "listener " + r.getKey() + ": could not bind its old sockets again,"
                        + " it is not accepting: " + e.getMessage());
                lost.append("; listener ").append(r.getKey()).append(" could not bind its old sockets again and is"
                        + " not accepting: ").append(e.getMessage());
            }
        }
        published = Collections.unmodifiableMap(new LinkedHashMap<>(listeners));
        return lost.toString();
    }

    /** The admin listener's loop, started on first use. */
    private synchronized EventLoopGroup adminLoop() {
        if (adminLoop == null) {
            adminLoop = transport.newEventLoopGroup(1, "portico-admin");
        }
        return adminLoop;
    }

    private AdminServer startAdmin(AdminConfig admin) {
        return AdminServer.start(admin, this, adminLoop(), transport.serverChannelClass());
    }

    /**
     * Swaps in the admin listener {@code started} (bound to the new address before the swap), or
     * stops it; when the new address overlaps the old one's port, the old listener closes first and,
     * should the new one still not bind, comes back on its old address.
     */
    private String moveAdmin(PorticoConfig next, AdminServer started, PorticoConfig previous, String token,
                             List<String> notes) {
        if (admin != null) {
            admin.close();
            admin = null;
        }
        if (!next.admin().enabled()) {
            return "admin listener stopped";
        }
        if (started == null) {
            try {
                started = startAdmin(next.admin());
            } catch (RuntimeException e) {
                notes.add("admin listener could not move to " + next.admin().address() + ": " + e.getMessage());
                try {
                    started = startAdmin(previous.admin());
                    started.refreshToken(token);
                    admin = started;
                } catch (RuntimeException again) {
                    notes.add("admin listener is not running: " + again.getMessage());
                    return "admin listener stopped";
                }
                return "admin listener stays on http://" + hostPort(started.address());
            }
        }
        admin = started;
        return "admin listener on http://" + hostPort(admin.address());
    }

    private ReloadResult record(ReloadResult r) {
        metrics.reloaded(r.ok());
        if (!r.ok() && metricsBeforeReload != null) {
            metrics.restore(metricsBeforeReload);
        }
        metricsBeforeReload = null;
        lastReload = r;
        lastReloadMillis = System.currentTimeMillis();
        if (!r.ok()) {
            LOG.log(System.Logger.Level.ERROR, "reload refused, the running config stays: " + r.error());
        }
        return r;
    }

    /** Socket-level settings: equal means a listener keeps its sockets across a reload. */
    private static boolean sameSockets(ListenerConfig a, ListenerConfig b) {
        return a.protocol() == b.protocol() && a.address().equals(b.address()) && a.backlog() == b.backlog()
                && a.reusePort() == b.reusePort()
                && a.fastOpen() == b.fastOpen() && a.tcpNodelay() == b.tcpNodelay()
                && a.tcpKeepalive().equals(b.tcpKeepalive()) && a.deferAccept().equals(b.deferAccept())
                && a.receiveBuffer().equals(b.receiveBuffer()) && a.sendBuffer().equals(b.sendBuffer());
    }

    /** Settings a running process cannot change: they are kept, with a warning. */
    private static List<String> restartOnly(PorticoConfig old, PorticoConfig next) {
        List<String> w = new ArrayList<>();
        if (old.transport() != next.transport()) {
            w.add("transport changed: takes effect at the next restart");
        }
        if (old.workers() != next.workers()) {
            w.add("workers changed: takes effect at the next restart");
        }
        if (!old.resolver().equals(next.resolver())) {
            w.add("resolver changed: takes effect at the next restart");
        }
        if (!old.demoOrigin().equals(next.demoOrigin())) {
            w.add("demo_origin changed: takes effect at the next restart");
        }
        if (!old.tls().provider().equals(next.tls().provider())) {
            w.add("tls.provider changed: takes effect at the next restart");
        }
        if (!old.limits().equals(next.limits())) {
            w.add("limits (global connection cap, buffer memory) changed: takes effect at the next restart");
        }
        if (!old.cache().equals(next.cache())) {
            w.add("cache (memory size, disk tier) changed: takes effect at the next restart; what is cached stays");
        }
        return w;
    }

    /** The TLS provider, chosen once on first use (OpenSSL through BoringSSL when it loads, else the JDK). */
    synchronized SslProvider tlsProvider() {
        if (sslProvider == null) {
            sslProvider = TlsProviders.select(TlsProviders.Choice.valueOf(tlsProviderChoice));
        }
        return sslProvider;
    }

    /** The TLS provider in use, described, or null when no TLS context was built. */
    public String tlsProviderDescription() {
        SslProvider p = sslProvider;
        if (p == null) {
            return null;
        }
        String rsa;
        try {
            rsa = LibcryptoSigner.decide(config().tls().rsaSigner(), TlsProviders.isOpenSsl(p)).reason();
        } catch (TlsConfigException e) {
            rsa = e.getMessage();
        }
        return TlsProviders.describe(p) + "; RSA signatures: " + rsa;
    }

    static String hostPort(InetSocketAddress a) {
        if (a.getAddress().isAnyLocalAddress()) {
            return "*:" + a.getPort();
        }
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** The address a listener is bound to (useful with port 0). */
    public InetSocketAddress address(String listener) {
        ListenerSlot l = published.get(listener);
        if (l == null || l.bound == null) {
            throw new IllegalArgumentException("no listener " + listener);
        }
        return l.bound.localAddress();
    }

    /** The UDP address a listener serves HTTP/3 on, or null when it does not. */
    public InetSocketAddress http3Address(String listener) {
        ListenerSlot l = published.get(listener);
        Http3Listener h3 = l == null ? null : l.http3;
        return h3 == null ? null : h3.localAddress();
    }

    /** Whether a QUIC connection is still open (it closes itself once its streams are done after GOAWAY). */
    private boolean http3Open() {
        for (ListenerSlot l : listeners.values()) {
            if (l.http3 != null && metrics.listener(l.config.name()).http3().activeConnections() > 0) {
                return true;
            }
        }
        for (DrainingHttp3 d : drainingHttp3) {
            if (d.http3().openConnections() > 0) {
                return true;
            }
        }
        return false;
    }

    /** HTTP listener names and their bound addresses, in config order. */
    public Map<String, InetSocketAddress> listenerAddresses() {
        Map<String, InetSocketAddress> m = new LinkedHashMap<>();
        published.forEach((name, slot) -> {
            if (slot.bound != null && !slot.isStream()) {
                m.put(name, slot.bound.localAddress());
            }
        });
        return m;
    }

    /** tcp and udp listeners by name, with their protocol and bound address, in config order. */
    public Map<String, String> streamListenerDescriptions() {
        Map<String, String> m = new LinkedHashMap<>();
        Map<String, StreamContext> streams = current.streams;
        published.forEach((name, slot) -> {
            StreamContext c = streams.get(name);
            if (c == null || slot.bound == null) {
                return;
            }
            ListenerConfig lc = c.config();
            String scheme = switch (lc.protocol()) {
                case TCP -> lc.tls() != null ? "tcp+tls" : lc.stream().sniRoutes().isEmpty() ? "tcp" : "tcp (sni routing)";
                case UDP -> "udp";
                case HTTP -> "http";
            };
            m.put(name, scheme + "://" + hostPort(slot.bound.localAddress()) + " -> "
                    + (lc.upstream() == null ? "by sni" : lc.upstream()));
        });
        return m;
    }

    /** The admin listener's address, or null when it is off. */
    public InetSocketAddress adminAddress() {
        AdminServer a = admin;
        return a == null ? null : a.address();
    }

    /** The config new connections get. */
    public PorticoConfig config() {
        return current.config;
    }

    /** The config generation new connections get: 1 at start, one more per successful reload. */
    public long generation() {
        ConfigGeneration g = current;
        return g == null ? 0 : g.number;
    }

    /** Replaced generations still serving connections accepted before their reload. */
    public int retiredGenerations() {
        return retired.size();
    }

    /** The listener contexts new connections get now, by listener name. */
    public Map<String, ListenerContext> listenerContexts() {
        return current.contexts;
    }

    /** The result of the last reload, or null when there was none. */
    public ReloadResult lastReload() {
        return lastReload;
    }

    public long lastReloadMillis() {
        return lastReloadMillis;
    }

    public long startedMillis() {
        return startedMillis;
    }

    public Transport transport() {
        return transport;
    }

    EventLoopGroup workers() {
        return workers;
    }

    DnsAddressResolverGroup resolver() {
        return resolver;
    }

    /** The demo origin's address, or null when it is off. */
    public InetSocketAddress demoAddress() {
        return demo == null ? null : demo.address();
    }

    /** Where every access log this server opens counts the lines it drops. */
    LongAdder accessLogDropped() {
        return accessLogDropped;
    }

    /** The access log of the current config. */
    public AccessLog accessLog() {
        return current.accessLog;
    }

    /**
     * The accepting gate of a running listener (the one {@link #address} names): its open
     * connections and what its caps refused; null for a udp listener or an unknown name.
     */
    public ListenerGate gate(String listener) {
        ListenerSlot l = published.get(listener);
        return l == null ? null : l.gate;
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

    /** The proxy's metrics (and through them the registry other features add theirs to). */
    public ProxyMetrics metrics() {
        return metrics;
    }

    /** The dashboard's rolling samples. */
    public DashboardHistory history() {
        return history;
    }

    /** HTTP/2 counters of a listener in the current config (connections, streams, abuse that ended connections). */
    public Http2Counters http2Counters(String listener) {
        return published.get(listener).context.http2Counters();
    }

    /**
     * The shared HTTP cache: purge ({@link HttpCache#purgeUrl}, {@link HttpCache#purgePrefix},
     * {@link HttpCache#purgeTag}) and counters ({@link HttpCache#stats}).
     */
    public HttpCache cache() {
        return cache;
    }

    /** The counters of a {@code protocol: tcp} or {@code udp} listener (they carry over reloads). */
    public StreamStats streamStats(String listener) {
        StreamContext c = current.streams.get(listener);
        if (c == null) {
            throw new IllegalArgumentException("no stream listener " + listener);
        }
        return c.stats();
    }

    /** UDP sessions open now on a {@code protocol: udp} listener. */
    public int udpSessions(String listener) {
        StreamContext c = current.streams.get(listener);
        if (c == null) {
            throw new IllegalArgumentException("no stream listener " + listener);
        }
        return c.sessions();
    }

    /** The upstream group called {@code name} in the current config, or null. */
    public UpstreamGroup upstream(String name) {
        return current.groups.get(name);
    }

    private Collection<UpstreamGroup> currentGroups() {
        ConfigGeneration g = current;
        return g == null ? List.of() : g.groups.values();
    }

    /** The upstream groups of the current config. */
    public Collection<UpstreamGroup> upstreams() {
        return currentGroups();
    }

    /** Startup warnings: options a transport cannot honour, kernel settings that will hurt. */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /**
     * Graceful shutdown: stop accepting, let in-flight requests finish (their responses close the
     * connection) and tcp/udp relays end for up to {@code drainTimeout}, then close everything.
     * A udp listener keeps its sockets while it drains (its sessions' replies leave from them) but
     * opens no new session.
     */
    public synchronized void shutdown(Duration drainTimeout) {
        if (stopped) {
            return;
        }
        stopped = true;
        if (admin != null) {
            admin.close();
        }
        for (ListenerSlot l : listeners.values()) {
            l.stream = null;
            if (l.bound != null && l.config.protocol() != ListenerProtocol.UDP) {
                l.bound.closeAsync().join();
            }
        }
        // QUIC connections live on the UDP sockets: those stay open while HTTP/3 streams drain.
        lifecycle.startDraining();
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        while ((lifecycle.inFlight() > 0 || openStreamConnections() > 0 || http3Open())
                && System.nanoTime() - deadline < 0) {
            try {
                // The shutdown thread is not an event loop; polling here delays nothing else.
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (lifecycle.inFlight() > 0 || openStreamConnections() > 0) {
            LOG.log(System.Logger.Level.WARNING, "drain timeout: closing " + lifecycle.inFlight()
                    + " requests in flight and " + openStreamConnections() + " tcp/udp relays");
        }
        for (ListenerSlot l : listeners.values()) {
            if (l.bound != null && l.config.protocol() == ListenerProtocol.UDP) {
                l.bound.closeAsync().join();
            }
        }
        checkDrainingStreams(true);
        checkDrainingHttp3(true);
        lifecycle.closeAll();
        for (ListenerSlot l : listeners.values()) {
            closeHttp3(l);
        }
        housekeeping.shutdownNow();
        List<ConfigGeneration> live = liveGenerations();
        for (ConfigGeneration g : live) {
            g.close(List.of(), false);
        }
        if (demo != null) {
            demo.close();
        }
        resolver.close();
        bufferBudget.close();
        // A short quiet period lets io_uring finish closes it deferred before the loops stop.
        boolean stoppedLoops = awaitStop(workers.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS), "worker");
        live.stream().map(g -> g.accessLog).distinct().forEach(AccessLog::close);
        // After the loops: no reader can still be streaming a stored body. A loop that did not stop
        // may still hold one, so its cache memory is left to the process's exit.
        if (stoppedLoops) {
            cache.close();
        }
        if (adminLoop != null) {
            awaitStop(adminLoop.shutdownGracefully(0, 2000, TimeUnit.MILLISECONDS), "admin");
        }
    }

    /**
     * Waits a bounded time for event loops to terminate. Netty 4.2.18's io_uring loop has been seen
     * to hang in {@code IoUringIoHandler.prepareToDestroy} after every channel closed; SIGTERM must
     * still end the process, so after {@link #LOOP_STOP_WAIT_SECONDS} the shutdown goes on without it.
     */
    private static boolean awaitStop(io.netty.util.concurrent.Future<?> termination, String which) {
        boolean done;
        try {
            done = termination.await(LOOP_STOP_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done = termination.isDone();
        }
        if (!done) {
            LOG.log(System.Logger.Level.WARNING, which + " event loops did not stop within "
                    + LOOP_STOP_WAIT_SECONDS + "s; shutting down without them");
        }
        return done;
    }

    /** The metrics registry: every metric, Portico's and other features'. */
    public MetricsRegistry registry() {
        return registry;
    }

    /** This build's version. */
    public static String version() {
        return Portico.version();
    }

    /** The file {@link #reload()} re-reads, or null. */
    public Path configFile() {
        return configFile;
    }

    @Override
    public void close() {
        shutdown(Duration.ZERO);
    }
}
