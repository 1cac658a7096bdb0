package io.portico.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.portico.server.config.BackendConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.Transport;
import io.portico.server.upstream.balance.HashOptions;
import io.portico.server.metrics.UpstreamMetrics;
import io.portico.server.upstream.balance.LoadBalancer;
import io.portico.server.upstream.balance.LoadBalancers;
import io.portico.server.upstream.health.BackendHealth;
import io.portico.server.upstream.health.BackendStatus;
import io.portico.server.upstream.health.EjectionBudget;
import io.portico.server.upstream.health.GroupStatus;
import io.portico.server.upstream.health.HealthChecker;
import io.portico.server.upstream.health.HealthState;
import io.portico.tls.ClientTls;

import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * An upstream group: its backends (shared) and, for each event loop, a {@link GroupLoop} with that
 * loop's balancers and pools. The map from loop to state is built once and only read afterwards.
 *
 * <p>Health: each backend has one {@link HealthChecker} (when {@code health_check} is on), on one
 * event loop chosen round robin, and one {@link BackendHealth} shared by all loops. A change of a
 * backend's health is published to every loop's {@link GroupLoop} as a task on that loop.
 */
public final class UpstreamGroup {

    private final String name;
    private final UpstreamConfig config;
    private final List<Backend> backends;
    private final Map<EventExecutor, GroupLoop> loops;
    private final List<String> warnings;
    private final HashKeyExtractor hashKey;
    private final List<GroupLoop> loopList;
    private final List<HealthChecker> checkers = new ArrayList<>();
    private final EjectionBudget ejectionBudget;
    private final UpstreamMetrics metrics;

    private UpstreamGroup(String name, UpstreamConfig config, List<Backend> backends,
                          EventLoopGroup workers, Transport transport,
                          AddressResolverGroup<? extends SocketAddress> resolver, ClientTls tls,
                          UpstreamMetrics metrics) {
        this.name = name;
        this.metrics = metrics;
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
        int loopCount = 0;
        for (EventExecutor ignored : workers) {
            loopCount++;
        }
        HashOptions hash = HashOptions.of(config.hash(), loopCount);
        Supplier<LoadBalancer<Backend>> primaryBalancers = LoadBalancers.factory(config.balance(), primaries, hash);
        Supplier<LoadBalancer<Backend>> backupBalancers = backups.isEmpty() ? null
                : LoadBalancers.factory(config.balance(), backups, hash);
        Map<EventExecutor, GroupLoop> perLoop = new IdentityHashMap<>();
        List<GroupLoop> ordered = new ArrayList<>();
        for (EventExecutor executor : workers) {
            EventLoop loop = (EventLoop) executor;
            ConnectionPool[] pools = new ConnectionPool[backends.size()];
            for (Backend b : backends) {
                String sni = config.tls().sni() != null ? config.tls().sni() : b.config().address().host();
                pools[b.index()] = new ConnectionPool(loop, b, base, config.pool(), tls, sni, metrics);
            }
            LoadBalancer<Backend> primary = primaryBalancers.get();
            LoadBalancer<Backend> backup = backupBalancers == null ? null : backupBalancers.get();
            GroupLoop gl = new GroupLoop(this, loop, primary, backup, pools);
            perLoop.put(loop, gl);
            ordered.add(gl);
        }
        this.loops = Collections.unmodifiableMap(perLoop);
        this.loopList = List.copyOf(ordered);
        this.ejectionBudget = new EjectionBudget(backends.size(), config.outlier().maxEjectionPercent());
        boolean checking = config.healthCheck().enabled();
        for (Backend b : backends) {
            EventLoop home = loopList.get(b.index() % loopList.size()).loop();
            b.health(new BackendHealth("upstream " + name + " backend " + b.key(), config.outlier(), ejectionBudget,
                    config.healthCheck().rise(), config.healthCheck().fall(), home, () -> publish(b)));
            if (checking) {
                String sni = config.tls().sni() != null ? config.tls().sni() : b.config().address().host();
                checkers.add(new HealthChecker(home, config.healthCheck(), b.health(), base, b.connectAddress(),
                        b.key(), tls, sni));
            }
        }
        for (HealthChecker c : checkers) {
            c.start();
        }
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

    /** A snapshot of the members' health and load, for the admin listener and metrics. Safe from any thread. */
    public GroupStatus status() {
        long now = System.nanoTime();
        long slowStart = config.slowStart().toNanos();
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

    /**
     * Builds a group for every loop of {@code workers} and starts its health checks.
     *
     * @param tls     the group's client TLS context, or null for plain HTTP
     * @param metrics where the group's requests and connections are counted
     */
    public static UpstreamGroup create(String name, UpstreamConfig config, EventLoopGroup workers, Transport transport,
                                       AddressResolverGroup<? extends SocketAddress> resolver, ClientTls tls,
                                       UpstreamMetrics metrics) {
        List<Backend> backends = new ArrayList<>();
        long primaries = config.backends().stream().filter(b -> !b.backup()).count();
        // As in nginx, a lone server is never marked down: there is nowhere else to send its traffic.
        int maxFails = primaries == 1 && config.backends().size() == 1 ? 0 : config.maxFails();
        for (BackendConfig bc : config.backends()) {
            backends.add(new Backend(backends.size(), bc, maxFails, config.failTimeout().toNanos()));
        }
        return new UpstreamGroup(name, config, List.copyOf(backends), workers, transport, resolver, tls, metrics);
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

    public UpstreamMetrics metrics() {
        return metrics;
    }

    /** The group's state on every event loop. */
    public java.util.Collection<GroupLoop> loops() {
        return loops.values();
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
        for (HealthChecker c : checkers) {
            c.close();
        }
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
