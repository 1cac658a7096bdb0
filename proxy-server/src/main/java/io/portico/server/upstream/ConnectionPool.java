package io.portico.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.portico.http.ReadClock;
import io.portico.server.config.PoolConfig;
import io.portico.server.metrics.UpstreamMetrics;
import io.portico.tls.ClientTls;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;

/**
 * Keep-alive connections to one backend from one event loop. Only that loop touches it, so it is
 * a plain deque: the most recently used connection is handed out first (warm, and least likely to
 * have been closed by the backend's own idle timer), so the deque runs from the longest idle to
 * the most recent.
 *
 * <p>{@code max_idle} connections stay for {@code idle_timeout}. A burst that needed more leaves
 * the rest idle for {@code surplus_idle_timeout} (HAProxy's purge delay): traffic that keeps more
 * than {@code max_idle} requests in flight reuses them instead of closing one connection and
 * opening another per request, which more than halved HTTP/2 to HTTP/1.1 throughput with 512
 * streams in flight (see BENCHMARKS.md). The sweep closes the surplus, longest idle first. A
 * backend with {@code max_connections} keeps no surplus.
 */
public final class ConnectionPool {

    private final EventLoop loop;
    private final Backend backend;
    private final Bootstrap bootstrap;
    private final int maxIdle;
    private final long idleTimeoutNanos;
    private final int maxRequests;
    private final long surplusIdleNanos;
    private final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    private final ChannelFutureListener onClose;
    private long connects;
    private boolean retired;
    private long reuses;
    private final UpstreamMetrics metrics;

    ConnectionPool(EventLoop loop, Backend backend, Bootstrap base, PoolConfig config, ClientTls tls, String sni,
                   UpstreamMetrics metrics) {
        this.loop = loop;
        this.metrics = metrics;
        this.backend = backend;
        this.bootstrap = base.clone(loop).handler(new UpstreamChannelInitializer(this, tls, sni));
        this.maxIdle = config.maxIdle();
        this.idleTimeoutNanos = config.idleTimeout().toNanos();
        this.maxRequests = config.maxRequests();
        // A capped backend's connections are shared by every event loop's pool: surplus kept idle on
        // one loop would hold slots another loop needs, so capped backends keep max_idle only.
        this.surplusIdleNanos = backend.config().maxConnections() > 0 ? 0 : config.surplusIdleTimeout().toNanos();
        this.onClose = f -> backend.connectionClosed();
    }

    public Backend backend() {
        return backend;
    }

    int maxRequests() {
        return maxRequests;
    }

    /** An idle live connection, or null; {@code now}: {@link System#nanoTime()} a moment ago. */
    public UpstreamConnection pollIdle(long now) {
        assert loop.inEventLoop();
        UpstreamConnection c;
        while ((c = idle.pollLast()) != null) {
            c.pooled(false, now);
            if (c.channel().isActive() && now - c.idleSinceNanos() < idleTimeoutNanos) {
                reuses++;
                return c;
            }
            c.channel().close();
        }
        return null;
    }

    /** Opens a new connection; the {@link UpstreamConnection} is in its pipeline when the future completes. */
    public ChannelFuture connect() {
        assert loop.inEventLoop();
        connects++;
        backend.connectionOpened();
        long started = System.nanoTime();
        ChannelFuture f = DirectConnect.connect(bootstrap, backend.connectAddress());
        f.channel().closeFuture().addListener(onClose);
        // A listener per new connection only; pooled requests never get here.
        f.addListener(done -> {
            if (done.isSuccess()) {
                metrics.connected(System.nanoTime() - started);
            }
        });
        return f;
    }

    boolean offer(UpstreamConnection c) {
        if (retired || maxIdle == 0 || (idle.size() >= maxIdle && surplusIdleNanos == 0)) {
            return false;
        }
        c.pooled(true, ReadClock.nanoTime());
        idle.addLast(c);
        return true;
    }

    void remove(UpstreamConnection c) {
        if (c.pooled()) {
            c.pooled(false, 0);
            idle.remove(c);
        }
    }

    /**
     * Closes idle connections past the idle timeout, and those beyond {@code max_idle} idle for
     * the surplus timeout, longest idle first; run periodically by the loop.
     */
    void evictExpired(long nowNanos) {
        Iterator<UpstreamConnection> it = idle.iterator();
        while (it.hasNext()) {
            UpstreamConnection c = it.next();
            long idleFor = nowNanos - c.idleSinceNanos();
            if (idleFor >= idleTimeoutNanos || !c.channel().isActive()
                    || (idle.size() > maxIdle && idleFor >= surplusIdleNanos)) {
                it.remove();
                c.pooled(false, 0);
                c.channel().close();
            }
        }
    }

    /** The group's members changed: connections coming back are closed, not kept. */
    void retire(List<ChannelFuture> closing) {
        retired = true;
        closeAll(closing);
    }

    void closeAll(List<ChannelFuture> closing) {
        UpstreamConnection c;
        while ((c = idle.pollFirst()) != null) {
            c.pooled(false, 0);
            closing.add(c.channel().close());
        }
    }

    public int idleCount() {
        return idle.size();
    }

    /** Connections opened by this pool so far. */
    public long connects() {
        return connects;
    }

    /** Requests that went out on a pooled connection. */
    public long reuses() {
        return reuses;
    }
}
