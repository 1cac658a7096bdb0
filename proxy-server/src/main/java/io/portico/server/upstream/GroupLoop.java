package io.portico.server.upstream;

import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.upstream.balance.LoadBalancer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One upstream group as seen from one event loop: its balancers, its pools (one per backend) and
 * its retry budget. Only that loop uses it.
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

    GroupLoop(UpstreamGroup group, EventLoop loop, LoadBalancer<Backend> primary, LoadBalancer<Backend> backup,
              ConnectionPool[] pools, Http2ConnectionPool[] http2Pools) {
        this.group = group;
        this.loop = loop;
        this.primary = primary;
        this.backup = backup;
        this.pools = pools;
        this.http2Pools = http2Pools;
        this.retryBudget = new RetryBudget(group.config().retry());
        long period = Math.max(250, Math.min(5_000, group.config().pool().idleTimeout().toMillis() / 4));
        this.sweeper = loop.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
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

    /** Stops the sweeper and closes the idle connections; returns their close futures. */
    List<ChannelFuture> close() {
        sweeper.cancel(false);
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
