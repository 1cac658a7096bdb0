package io.portico.server.upstream;

import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.config.PoolConfig;
import io.portico.server.upstream.balance.LoadBalancer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One upstream group as seen from one event loop: its balancers, its pools (one per backend), its
 * retry budget, and its own copy of which backends health has out. Only that loop uses it.
 *
 * <p>Health changes arrive as tasks on this loop ({@link #refresh(Backend)}, queued by the group
 * whenever a backend's {@code BackendHealth} may have changed), so the request path reads a plain
 * array. A backend that comes back ramps its weight in the balancer over {@code slow_start}.
 */
public final class GroupLoop {

    private final UpstreamGroup group;
    private final EventLoop loop;
    private final LoadBalancer<Backend> primary;
    private final LoadBalancer<Backend> backup;
    private final ConnectionPool[] pools;
    private final Http2ConnectionPool[] http2Pools;
    private final RetryBudget retryBudget;
    private final ScheduledFuture<?> sweeper;
    /** Whether health has each backend (by index) out of rotation, as last published to this loop. */
    private final boolean[] out;
    /** {@link System#nanoTime()} when each ramping backend came back, 0 when it is not ramping. */
    private final long[] rampSince;
    private final long slowStartNanos;
    private ScheduledFuture<?> ramper;

    GroupLoop(UpstreamGroup group, EventLoop loop, LoadBalancer<Backend> primary, LoadBalancer<Backend> backup,
              ConnectionPool[] pools, Http2ConnectionPool[] http2Pools) {
        this.group = group;
        this.loop = loop;
        this.primary = primary;
        this.backup = backup;
        this.pools = pools;
        this.http2Pools = http2Pools;
        this.retryBudget = new RetryBudget(group.config().retry());
        PoolConfig pool = group.config().pool();
        long surplus = pool.surplusIdleTimeout().toMillis();
        long period = Math.max(250, Math.min(Math.min(5_000, pool.idleTimeout().toMillis() / 4),
                surplus > 0 ? surplus / 2 : Long.MAX_VALUE));
        this.sweeper = loop.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
        this.out = new boolean[pools.length];
        for (ConnectionPool p : pools) {
            // Out from the start when it took over a member that health has out (a DNS change).
            out[p.backend().index()] = !p.backend().health().available();
        }
        this.rampSince = new long[pools.length];
        this.slowStartNanos = group.config().slowStart().toNanos();
    }

    /** Whether health (active checks, outlier ejection) has {@code backend} in rotation on this loop. */
    public boolean inRotation(Backend backend) {
        return !out[backend.index()];
    }

    /** Takes {@code backend}'s current health into this loop's view; runs on this loop. */
    void refresh(Backend backend) {
        assert loop.inEventLoop();
        int i = backend.index();
        boolean nowOut = !backend.health().available();
        boolean wasOut = out[i];
        out[i] = nowOut;
        if (wasOut && !nowOut && slowStartNanos > 0) {
            long since = backend.health().backSinceNanos();
            rampSince[i] = since == 0 ? System.nanoTime() : since;
            ramp();
        } else if (nowOut && rampSince[i] != 0) {
            rampSince[i] = 0;
            balancerOf(backend).rampWeight(backend, 1000);
        }
    }

    /** Sets each ramping backend's weight for now; reschedules itself while any is still ramping. */
    private void ramp() {
        long now = System.nanoTime();
        boolean more = false;
        for (int i = 0; i < rampSince.length; i++) {
            if (rampSince[i] == 0) {
                continue;
            }
            Backend b = pools[i].backend();
            long elapsed = now - rampSince[i];
            if (elapsed >= slowStartNanos) {
                rampSince[i] = 0;
                balancerOf(b).rampWeight(b, 1000);
            } else {
                balancerOf(b).rampWeight(b, (int) Math.max(1, elapsed * 1000 / slowStartNanos));
                more = true;
            }
        }
        if (more && (ramper == null || ramper.isDone())) {
            // About 50 steps over the ramp, at most one every 10ms.
            long step = Math.max(10_000_000L, slowStartNanos / 50);
            ramper = loop.scheduleAtFixedRate(this::rampTick, step, step, TimeUnit.NANOSECONDS);
        }
    }

    private void rampTick() {
        ramp();
        boolean more = false;
        for (long since : rampSince) {
            more |= since != 0;
        }
        if (!more && ramper != null) {
            ramper.cancel(false);
        }
    }

    private LoadBalancer<Backend> balancerOf(Backend b) {
        return b.backup() && backup != null ? backup : primary;
    }

    public UpstreamGroup group() {
        return group;
    }

    public EventLoop loop() {
        return loop;
    }

    /**
     * Picks a backend among primaries, then backups, for which {@code eligible} holds; null when none.
     */
    public Backend pick(long keyHash, Predicate<? super Backend> eligible) {
        Backend b = primary.pick(keyHash, eligible);
        if (b == null && backup != null) {
            b = backup.pick(keyHash, eligible);
        }
        return b;
    }

    public ConnectionPool pool(Backend backend) {
        return pools[backend.index()];
    }

    /**
     * Idle connections to {@code backend} on this loop, or 0 when it is not one of this loop's members
     * (the group's DNS members changed between reading its backends and its loops). For views and gauges.
     */
    public int idleCount(Backend backend) {
        int i = backend.index();
        return i < pools.length && pools[i].backend() == backend ? pools[i].idleCount() : 0;
    }

    /** Whether requests go to the backends over multiplexed HTTP/2 ({@code protocol: h2} or {@code h2c}). */
    public boolean multiplexed() {
        return http2Pools != null;
    }

    /** The HTTP/2 pool for {@code backend}; only when {@link #multiplexed()}. */
    public Http2ConnectionPool http2Pool(Backend backend) {
        return http2Pools[backend.index()];
    }

    /** Whether {@code backend} can take a request on a connection it already has (an idle one, or a free stream). */
    public boolean hasReusable(Backend backend) {
        return http2Pools != null ? http2Pools[backend.index()].hasRoom() : pools[backend.index()].idleCount() > 0;
    }

    /** Counts a request towards the retry budget. */
    public void onRequest() {
        retryBudget.onRequest();
    }

    /** Spends one retry from the budget, if there is one. */
    public boolean tryRetry(long nowNanos) {
        return retryBudget.tryRetry(nowNanos);
    }

    private void sweep() {
        long now = System.nanoTime();
        for (ConnectionPool pool : pools) {
            pool.evictExpired(now);
        }
        if (http2Pools != null) {
            for (Http2ConnectionPool pool : http2Pools) {
                pool.evictIdle(now);
            }
        }
    }

    /** Replaced by a newer member set: timers off, idle connections closed, none taken back. */
    void retire() {
        sweeper.cancel(false);
        if (ramper != null) {
            ramper.cancel(false);
        }
        List<ChannelFuture> closing = new ArrayList<>();
        for (ConnectionPool pool : pools) {
            pool.retire(closing);
        }
        if (http2Pools != null) {
            for (Http2ConnectionPool pool : http2Pools) {
                pool.retire();
            }
        }
    }

    /** Stops the sweeper and closes the idle connections; returns their close futures. */
    List<ChannelFuture> close() {
        sweeper.cancel(false);
        if (ramper != null) {
            ramper.cancel(false);
        }
        List<ChannelFuture> closing = new ArrayList<>();
        for (ConnectionPool pool : pools) {
            pool.closeAll(closing);
        }
        if (http2Pools != null) {
            for (Http2ConnectionPool pool : http2Pools) {
                pool.closeAll(closing);
            }
        }
        return closing;
    }

    /** Open HTTP/2 connections across this loop's pools (0 for an HTTP/1.1 group). */
    public int http2Connections() {
        int n = 0;
        if (http2Pools != null) {
            for (Http2ConnectionPool pool : http2Pools) {
                n += pool.connectionCount();
            }
        }
        return n;
    }

    /** Idle connections across this loop's pools. */
    public int idleConnections() {
        int n = 0;
        for (ConnectionPool pool : pools) {
            n += pool.idleCount();
        }
        return n;
    }
}
