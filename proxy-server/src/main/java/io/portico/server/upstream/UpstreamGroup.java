package io.portico.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.resolver.AddressResolver;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.config.HostPort;
import io.portico.server.config.BackendConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.config.UpstreamProtocol;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.Transport;
import io.portico.server.metrics.UpstreamMetrics;
import io.portico.server.upstream.balance.HashOptions;
import io.portico.server.upstream.balance.LoadBalancer;
import io.portico.server.upstream.balance.LoadBalancers;
import io.portico.server.upstream.health.BackendHealth;
import io.portico.server.upstream.health.BackendStatus;
import io.portico.server.upstream.health.EjectionBudget;
import io.portico.server.upstream.health.GroupStatus;
import io.portico.server.upstream.health.HealthChecker;
import io.portico.server.upstream.health.HealthState;
import io.portico.tls.ClientTls;
import io.portico.tls.ClientTlsOptions;
import io.portico.tls.TlsConfigException;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * An upstream group: its backends (shared) and, for each event loop, a {@link GroupLoop} with that
 * loop's balancers and pools.
 *
 * <p>Health: each backend has one {@link HealthChecker} (when {@code health_check} is on), on one
 * event loop chosen round robin, and one {@link BackendHealth} shared by all loops. A change of a
 * backend's health is published to every loop's {@link GroupLoop} as a task on that loop.
 *
 * <p>Members: a backend with {@code resolve: true} stands for every IPv4 address its name resolves to,
 * each a member of its own (keyed {@code ip:port} on a hash ring). One loop asks the resolver again
 * every second; answers come from the DNS cache until the record's TTL runs out, so the set follows
 * DNS on the TTL. When it changes, a new {@link Generation} (backends, per-loop state, checkers) is
 * built and swapped in; members that stay keep their health (check results, ejection, max_fails);
 * exchanges already running finish on the old one, whose pools then stop taking connections back
 * and close their idle ones. A failed lookup keeps the addresses last seen.
 *
 * <p>Reloads: a reload builds every group anew, from the group of the same name in the config it
 * replaces (its predecessor), if any. Members at the same address ({@code ip:port}; for a resolve entry
 * the resolved address) start from the predecessor's health, as after a DNS change; others start fresh.
 * Nothing is checked until the new config is in use ({@link #activate}); then the predecessor stops
 * checking those members and its DNS refresh, each member's latest check state moves over as its old
 * checker stops, and the new checkers start, so one checker probes each address at a time. The
 * predecessor still serves the connections accepted under its config: its members that stayed read
 * and feed the new health ({@link BackendHealth#follow}); those the new config dropped keep their own
 * checker until the predecessor closes.
 */
public final class UpstreamGroup {

    private static final System.Logger LOG = System.getLogger("portico");
    private static final long REFRESH_MILLIS = 1000;

    private final String name;
    private final UpstreamConfig config;
    private final List<EventLoop> loops;
    private final AddressResolverGroup<? extends SocketAddress> resolver;
    private final ClientTls tls;
    /** The group's TLS settings offering only h2 in ALPN, for {@code protocol: h2}; else null. */
    private final ClientTls http2Tls;
    private final Bootstrap base;
    private final List<String> warnings;
    private final HashKeyExtractor hashKey;
    private final HashOptions hash;
    private final UpstreamMetrics metrics;
    /** Per config entry with {@code resolve: true}, the addresses last resolved; others null. */
    private final List<InetSocketAddress>[] resolved;
    private volatile Generation current;
    private volatile ScheduledFuture<?> refresher;
    private volatile boolean closed;
    /** Whether some member has {@code resolve: true}, so DNS is asked again every second once active. */
    private boolean resolving;
    /** A newer config's group took over: no more DNS refreshes; on the home loop only. */
    private boolean handedOver;

    @SuppressWarnings("unchecked")
    private UpstreamGroup(String name, UpstreamConfig config, EventLoopGroup workers, Transport transport,
                          AddressResolverGroup<? extends SocketAddress> resolver, ClientTls tls,
                          UpstreamMetrics metrics) {
        this.name = name;
        this.metrics = metrics;
        this.config = config;
        this.resolver = resolver;
        this.tls = tls;
        this.http2Tls = config.protocol() == UpstreamProtocol.H2 ? withAlpnH2(tls) : null;
        this.hashKey = config.balance() == io.portico.server.config.BalanceAlgorithm.CONSISTENT_HASH
                ? HashKeyExtractor.of(config.hash().key()) : HashKeyExtractor.NONE;
        this.base = new Bootstrap()
                .channel(transport.socketChannelClass())
                .resolver(resolver)
                .option(ChannelOption.AUTO_READ, false);
        this.warnings = ListenerSockets.applyUpstreamOptions(base, config.socket(), config.connectTimeout(), transport);
        List<EventLoop> all = new ArrayList<>();
        for (EventExecutor executor : workers) {
            all.add((EventLoop) executor);
        }
        this.loops = List.copyOf(all);
        this.hash = HashOptions.of(config.hash(), loops.size());
        this.resolved = new List[config.backends().size()];
    }

    /**
     * Builds a group for every loop of {@code workers}; nothing is checked or re-resolved until
     * {@link #activate}. Names of {@code resolve: true} backends are looked up now, waiting up to 10
     * seconds for each; a name that does not answer by then starts with no members and joins at a
     * later refresh.
     *
     * @param tls         the group's client TLS context, or null for plain HTTP
     * @param metrics     where the group's requests and connections are counted
     * @param predecessor the group of the same name in the config this one is built to replace, whose
     *                    members at the same addresses this one's start from; null for none
     */
    public static UpstreamGroup create(String name, UpstreamConfig config, EventLoopGroup workers, Transport transport,
                                       AddressResolverGroup<? extends SocketAddress> resolver, ClientTls tls,
                                       UpstreamMetrics metrics, UpstreamGroup predecessor) {
        UpstreamGroup g = new UpstreamGroup(name, config, workers, transport, resolver, tls, metrics);
        boolean resolving = false;
        for (int i = 0; i < config.backends().size(); i++) {
            BackendConfig bc = config.backends().get(i);
            if (bc.resolve()) {
                resolving = true;
                Future<List<InetSocketAddress>> f = g.lookup(g.loops.get(0), bc.address());
                if (f.awaitUninterruptibly(10, TimeUnit.SECONDS) && f.isSuccess()) {
                    g.resolved[i] = sorted(f.getNow());
                } else {
                    g.resolved[i] = List.of();
                    LOG.log(System.Logger.Level.WARNING, "upstream " + name + ": " + bc.address().host()
                            + " did not resolve (" + (f.cause() == null ? "timeout" : f.cause().getMessage())
                            + "); its members join when it does");
                }
            }
        }
        if (predecessor != null && predecessor.loops.get(0) != g.loops.get(0)) {
            throw new IllegalArgumentException("a predecessor group must run on the same event loops");
        }
        g.resolving = resolving;
        g.current = g.new Generation(g.expand(), predecessor == null ? null : predecessor.current, false);
        return g;
    }

    /**
     * Puts the group to work once its config is the one in use: starts its health checks and DNS
     * refresh. With {@code predecessor} (the group it was {@link #create created} to replace), first
     * takes over from it: see the class comment. Safe from any thread; the work runs on the group's
     * home loop, which is also the predecessor's.
     */
    public void activate(UpstreamGroup predecessor) {
        EventLoop home = loops.get(0);
        Runnable work = () -> {
            if (closed) {
                return;
            }
            Generation gen = current;
            if (predecessor != null && !predecessor.closed) {
                predecessor.handOverTo(gen);
            } else {
                gen.startChecks();
            }
            if (resolving) {
                refresher = home.scheduleWithFixedDelay(this::refresh, REFRESH_MILLIS, REFRESH_MILLIS,
                        TimeUnit.MILLISECONDS);
                if (closed) {
                    refresher.cancel(false);
                }
            }
        };
        runOn(home, work);
    }

    /** Runs {@code task} on {@code loop}: now when already there, else as a task; not at all once it stops. */
    private static void runOn(EventLoop loop, Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // Shutting down: nothing to check any more.
        }
    }

    /** The members of {@code backends} by key ({@code ip:port}), to match one member set with another. */
    private static Map<String, Backend> byKey(List<Backend> backends) {
        Map<String, Backend> byKey = new HashMap<>();
        for (Backend b : backends) {
            byKey.put(b.key(), b);
        }
        return byKey;
    }

    /**
     * A newer config's group takes over from this one; on the home loop. This group stops refreshing
     * DNS (its member set stays as it is for the connections still on its config). For every member
     * {@code next} shares with it: this one's health follows the new one's; its checker stops and,
     * on that checker's loop, the new member takes the last check state over and its checker starts.
     * Members only {@code next} has start checking now; members only this group has keep checking.
     */
    private void handOverTo(Generation next) {
        assert loops.get(0).inEventLoop();
        handedOver = true;
        ScheduledFuture<?> r = refresher;
        if (r != null) {
            r.cancel(false);
        }
        Generation mine = current;
        Map<String, Backend> byKey = byKey(mine.backends);
        for (Backend nb : next.backends) {
            Backend ob = byKey.get(nb.key());
            HealthChecker newChecker = next.checkers[nb.index()];
            HealthChecker oldChecker = ob == null ? null : mine.checkers[ob.index()];
            if (ob != null) {
                ob.health().follow(nb.health());
            }
            if (oldChecker == null) {
                if (newChecker != null) {
                    newChecker.start();
                }
                continue;
            }
            Runnable takeOver = () -> {
                oldChecker.stopNow();
                if (newChecker != null) {
                    nb.health().takeChecks(ob.health());
                    newChecker.start();
                }
            };
            runOn(oldChecker.loop(), takeOver);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Future<List<InetSocketAddress>> lookup(EventLoop loop, HostPort hp) {
        AddressResolver r = resolver.getResolver(loop);
        return r.resolveAll(InetSocketAddress.createUnresolved(hp.host(), hp.port()));
    }

    private static List<InetSocketAddress> sorted(List<InetSocketAddress> addresses) {
        List<InetSocketAddress> copy = new ArrayList<>(addresses);
        copy.sort((a, b) -> Arrays.compare(a.getAddress().getAddress(), b.getAddress().getAddress()));
        return List.copyOf(copy);
    }

    /** The members now: config entries as written, resolve entries as one member per address. */
    private List<Backend> expand() {
        List<BackendConfig> members = new ArrayList<>();
        List<String> serverNames = new ArrayList<>();
        for (int i = 0; i < config.backends().size(); i++) {
            BackendConfig bc = config.backends().get(i);
            if (!bc.resolve()) {
                members.add(bc);
                serverNames.add(bc.address().host());
                continue;
            }
            for (InetSocketAddress a : resolved[i]) {
                HostPort hp = new HostPort(a.getAddress().getHostAddress(), bc.address().port());
                members.add(new BackendConfig(hp, bc.weight(), bc.maxConnections(), bc.backup(), false));
                serverNames.add(bc.address().host());
            }
        }
        long primaries = members.stream().filter(b -> !b.backup()).count();
        // As in nginx, a lone server is never marked down: there is nowhere else to send its traffic.
        int maxFails = primaries == 1 && members.size() == 1 ? 0 : config.maxFails();
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            backends.add(new Backend(i, members.get(i), maxFails, config.failTimeout().toNanos(), serverNames.get(i)));
        }
        return List.copyOf(backends);
    }

    /** Asks the resolver for every resolve entry; on the home loop. */
    private void refresh() {
        if (closed || handedOver) {
            return;
        }
        int[] pending = {0};
        List<InetSocketAddress>[] answers = resolved.clone();
        for (int i = 0; i < resolved.length; i++) {
            if (resolved[i] != null) {
                pending[0]++;
            }
        }
        for (int i = 0; i < resolved.length; i++) {
            if (resolved[i] == null) {
                continue;
            }
            int entry = i;
            lookup(loops.get(0), config.backends().get(i).address()).addListener(f -> {
                if (f.isSuccess()) {
                    @SuppressWarnings("unchecked")
                    List<InetSocketAddress> got = (List<InetSocketAddress>) f.getNow();
                    answers[entry] = sorted(got);
                }
                if (--pending[0] == 0) {
                    applyAnswers(answers);
                }
            });
        }
    }

    private void applyAnswers(List<InetSocketAddress>[] answers) {
        if (closed || handedOver || Arrays.equals(answers, resolved)) {
            return;
        }
        System.arraycopy(answers, 0, resolved, 0, answers.length);
        Generation old = current;
        Generation next = new Generation(expand(), old, true);
        current = next;
        LOG.log(System.Logger.Level.INFO, "upstream " + name + ": members now " + next.backends);
        old.retire();
        // Exchanges still running on the old set report to the new health; whatever follows the old
        // (an older config's group) follows the new.
        Map<String, Backend> byKey = byKey(next.backends);
        for (Backend b : old.backends) {
            Backend same = byKey.get(b.key());
            if (same != null) {
                b.health().replaceWith(same.health());
            }
        }
    }

    /** A snapshot of the members' health and load, for the admin listener and metrics. Safe from any thread. */
    public GroupStatus status() {
        long now = System.nanoTime();
        long slowStart = config.slowStart().toNanos();
        List<Backend> backends = current.backends;
        List<BackendStatus> members = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            BackendHealth h = b.health();
            HealthState state;
            String reason;
            double effective = b.weight();
            if (h.checkedDown()) {
                state = HealthState.DOWN;
                reason = h.checkReason();
            } else if (h.ejected()) {
                state = HealthState.EJECTED;
                reason = h.ejectReason();
            } else if (b.isDownNoReset(now)) {
                state = HealthState.FAILED;
                reason = config.maxFails() + " failures within " + config.failTimeout().toMillis() + "ms (max_fails)";
            } else {
                long back = h.backSinceNanos();
                boolean ramping = slowStart > 0 && back != 0 && now - back < slowStart;
                state = ramping ? HealthState.SLOW_START : HealthState.UP;
                effective = ramping ? b.weight() * Math.max(0.001, (double) (now - back) / slowStart) : b.weight();
                reason = h.lastCheckPassed() || h.lastCheckMillis() == 0 ? "" : h.checkReason();
            }
            if (state != HealthState.UP && state != HealthState.SLOW_START) {
                effective = 0;
            }
            long left = h.ejected() ? Math.max(0, h.ejectedUntilNanos() - now) : 0;
            members.add(new BackendStatus(b.key(), b.backup(), state, reason,
                    h.lastCheckMillis() == 0 ? null : Instant.ofEpochMilli(h.lastCheckMillis()), h.lastCheckPassed(),
                    b.inFlight(), b.openConnections(), b.weight(), effective, h.ejections(), Duration.ofNanos(left)));
        }
        return new GroupStatus(name, config.healthCheck().enabled(), members);
    }


    /** The same TLS settings offering only {@code h2} in ALPN, for the HTTP/2 connections of an h2 group. */
    private static ClientTls withAlpnH2(ClientTls tls) {
        ClientTlsOptions o = tls.options();
        try {
            return ClientTls.build(new ClientTlsOptions(o.provider(), o.trust(), o.verify(),
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

    /** The members now (a resolve entry stands for as many as its name has addresses). */
    public List<Backend> backends() {
        return current.backends;
    }

    public HashKeyExtractor hashKey() {
        return hashKey;
    }

    /** Socket options the transport could not honour for this group's connections. */
    public List<String> warnings() {
        return warnings;
    }

    public UpstreamMetrics metrics() {
        return metrics;
    }

    /** The group's state on every event loop, for the current member set. */
    public java.util.Collection<GroupLoop> loops() {
        return current.perLoop.values();
    }

    /** This group's state for {@code loop}; the loop must be one of the workers it was built for. */
    public GroupLoop forLoop(EventLoop loop) {
        return current.perLoop.get(loop);
    }

    /**
     * Stops the health checks and the DNS refresh, closes idle connections and stops the pools'
     * timers, each loop's part on that loop, and waits until those connections are closed so the
     * loops can stop cleanly afterwards. Call it from outside the event loops.
     */
    public void close() {
        closed = true;
        ScheduledFuture<?> r = refresher;
        if (r != null) {
            r.cancel(false);
        }
        Generation gen = current;
        gen.closeAndWait();
        // Links between configs' health objects are made and cut on the home loop.
        EventLoop home = loops.get(0);
        if (!home.isShuttingDown()) {
            try {
                home.execute(() -> {
                    for (Backend b : gen.backends) {
                        b.health().detach();
                    }
                });
            } catch (RejectedExecutionException e) {
                // Stopping: nothing follows anything any more.
            }
        }
    }

    /**
     * The members at one moment and everything built for them: per-loop state, health and checkers.
     * Immutable once built, except for the state its parts keep themselves.
     */
    private final class Generation {
        final List<Backend> backends;
        final Map<EventExecutor, GroupLoop> perLoop;
        final List<GroupLoop> loopList;
        /** Each member's checker, by index; null when checks are off. */
        final HealthChecker[] checkers;

        /**
         * @param previous the member set this one replaces (of this group, or of the predecessor for a
         *                 reload); members it shares keep their health
         * @param start    whether to start the checkers now (else {@link #startChecks} or a hand-over does)
         */
        Generation(List<Backend> backends, Generation previous, boolean start) {
            this.backends = backends;
            // Health first: each loop's view of it starts from there.
            EjectionBudget budget = new EjectionBudget(backends.size(), config.outlier().maxEjectionPercent());
            Map<String, Backend> before = previous == null ? Map.of() : byKey(previous.backends);
            List<Backend> inherited = new ArrayList<>();
            for (Backend b : backends) {
                EventLoop home = loops.get(b.index() % loops.size());
                b.health(new BackendHealth("upstream " + name + " backend " + b.key(), config.outlier(), budget,
                        config.healthCheck().rise(), config.healthCheck().fall(), home, () -> publish(b)));
                Backend same = before.get(b.key());
                if (same != null) {
                    b.inherit(same, config.healthCheck().enabled());
                    inherited.add(b);
                }
            }
            List<Backend> primaries = new ArrayList<>();
            List<Backend> backups = new ArrayList<>();
            for (Backend b : backends) {
                (b.backup() ? backups : primaries).add(b);
            }
            Supplier<LoadBalancer<Backend>> primaryBalancers = LoadBalancers.factory(config.balance(), primaries, hash);
            Supplier<LoadBalancer<Backend>> backupBalancers = backups.isEmpty() ? null
                    : LoadBalancers.factory(config.balance(), backups, hash);
            Map<EventExecutor, GroupLoop> map = new IdentityHashMap<>();
            List<GroupLoop> ordered = new ArrayList<>();
            boolean multiplexed = config.protocol() != UpstreamProtocol.HTTP1;
            for (EventLoop loop : loops) {
                ConnectionPool[] pools = new ConnectionPool[backends.size()];
                // HTTP/1.1 pools exist in every group: a WebSocket upgrade needs HTTP/1.1 even to an h2 backend.
                Http2ConnectionPool[] http2Pools = multiplexed ? new Http2ConnectionPool[backends.size()] : null;
                for (Backend b : backends) {
                    pools[b.index()] = new ConnectionPool(loop, b, base, config.pool(), tls, sni(b), metrics);
                    if (multiplexed) {
                        http2Pools[b.index()] = new Http2ConnectionPool(loop, b, base, config.http2(),
                                config.pool().maxRequests(), config.pool().idleTimeout().toNanos(),
                                config.connectTimeout().toNanos(), http2Tls, sni(b));
                    }
                }
                LoadBalancer<Backend> primary = primaryBalancers.get();
                LoadBalancer<Backend> backup = backupBalancers == null ? null : backupBalancers.get();
                GroupLoop gl = new GroupLoop(UpstreamGroup.this, loop, primary, backup, pools, http2Pools);
                map.put(loop, gl);
                ordered.add(gl);
            }
            this.perLoop = Collections.unmodifiableMap(map);
            this.loopList = List.copyOf(ordered);
            for (Backend b : inherited) {
                b.health().resume();
            }
            boolean checking = config.healthCheck().enabled();
            this.checkers = new HealthChecker[backends.size()];
            for (Backend b : backends) {
                EventLoop home = loops.get(b.index() % loops.size());
                if (checking) {
                    checkers[b.index()] = new HealthChecker(home, config.healthCheck(), b.health(), base,
                            b.connectAddress(), b.hostHeader(), tls, sni(b));
                }
            }
            if (start) {
                startChecks();
            }
        }

        void startChecks() {
            for (HealthChecker c : checkers) {
                if (c != null) {
                    c.start();
                }
            }
        }

        private void closeCheckers() {
            for (HealthChecker c : checkers) {
                if (c != null) {
                    c.close();
                }
            }
        }

        private String sni(Backend b) {
            return config.tls().sni() != null ? config.tls().sni() : b.serverName();
        }

        /** Hands {@code b}'s health to every loop; each takes it on its own thread. */
        private void publish(Backend b) {
            for (GroupLoop gl : loopList) {
                EventLoop loop = gl.loop();
                if (loop.inEventLoop()) {
                    gl.refresh(b);
                } else if (!loop.isShuttingDown()) {
                    try {
                        loop.execute(() -> gl.refresh(b));
                    } catch (RejectedExecutionException e) {
                        // The loop stopped between the check and the call: nothing there needs the news.
                    }
                }
            }
        }

        /** Replaced by a newer generation: stop checking, close what is idle, take nothing back. */
        void retire() {
            closeCheckers();
            for (GroupLoop gl : loopList) {
                if (!gl.loop().isShuttingDown()) {
                    gl.loop().execute(gl::retire);
                }
            }
        }

        void closeAndWait() {
            closeCheckers();
            List<Future<List<ChannelFuture>>> parts = new ArrayList<>();
            for (GroupLoop gl : loopList) {
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
}
