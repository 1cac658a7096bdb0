package io.portico.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.config.Http2UpstreamConfig;
import io.portico.tls.ClientTls;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Multiplexed HTTP/2 connections to one backend from one event loop. Only that loop touches it.
 *
 * <p>A request gets a stream on the oldest connection with room (so load packs onto few
 * connections and the others go idle and close). Room means: the connection's SETTINGS arrived, it
 * has not been told GOAWAY, it has carried fewer than {@code pool.max_requests} streams, and its open
 * streams are below both {@code http2.max_concurrent_streams} and the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS. When every connection is full another is opened, up to
 * {@code http2.max_connections} taking new streams (one that is draining after GOAWAY or
 * {@code max_requests} does not count); beyond that requests wait in a bounded FIFO queue (as Envoy's
 * pending-request queue), each for at most {@code connect_timeout}, and a request that finds the
 * queue full is answered 503 at once instead of piling up. Requests that a connection being opened
 * will take wait for it besides the {@code http2.max_pending} the queue holds.
 */
public final class Http2ConnectionPool {

    private final EventLoop loop;
    private final Backend backend;
    private final Bootstrap bootstrap;
    private final ClientTls tls;
    private final String sni;
    private final Http2UpstreamConfig config;
    private final int maxRequests;
    private final long idleTimeoutNanos;
    private final long connectTimeoutNanos;
    private final List<Http2UpstreamConnection> connections = new ArrayList<>(4);
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private final Runnable expireWaiting = this::expireWaiting;
    private final Runnable serveLater = this::serveLater;
    private boolean serveScheduled;
    private ScheduledFuture<?> waitTimer;
    private long connects;
    private long streams;
    private boolean closed;
    /** The group's members changed: connections close once they carry no stream, none are kept idle. */
    private boolean retired;

    private record Waiting(Http2StreamWaiter waiter, long deadlineNanos) {
    }

    Http2ConnectionPool(EventLoop loop, Backend backend, Bootstrap base, Http2UpstreamConfig config, int maxRequests,
                        long idleTimeoutNanos, long connectTimeoutNanos, ClientTls tls, String sni) {
        this.loop = loop;
        this.backend = backend;
        // The connection reads freely: what a backend may send is bounded per stream by flow control.
        this.bootstrap = base.clone(loop).option(ChannelOption.AUTO_READ, true);
        this.tls = tls;
        this.sni = sni;
        this.config = config;
        this.maxRequests = maxRequests;
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.connectTimeoutNanos = connectTimeoutNanos;
    }

    public Backend backend() {
        return backend;
    }

    Http2UpstreamConfig config() {
        return config;
    }

    int maxRequests() {
        return maxRequests;
    }

    EventLoop loop() {
        return loop;
    }

    /**
     * Finds a stream for {@code waiter}: on a connection with room now, else after a new connection
     * is up or a stream ends, else never (503 at once when the queue is full).
     */
    public void acquire(Http2StreamWaiter waiter) {
        assert loop.inEventLoop();
        Http2UpstreamConnection c = withRoom();
        if (c != null) {
            open(c, waiter);
            return;
        }
        if (closed) {
            waiter.streamFailed(HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_overflow", false);
            return;
        }
        waiting.addLast(new Waiting(waiter, System.nanoTime() + connectTimeoutNanos));
        maybeConnect();
        if (connections.isEmpty()) {
            // Nothing is open or opening (the backend is at its max_connections): nothing to wait for.
            failWaiting(HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_overflow", false);
            return;
        }
        if (waiting.size() > queueLimit()) {
            waiting.pollLast();
            waiter.streamFailed(HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_overflow", false);
            return;
        }
        if (waitTimer == null) {
            armWaitTimer();
        }
    }

    /**
     * How many may wait: {@code max_pending} for a busy stream, and besides them as many as the
     * connections on their way will take (with {@code max_pending: 0} a request still waits for the
     * connection opened for it).
     */
    private int queueLimit() {
        long limit = config.maxPending();
        for (int i = 0, n = connections.size(); i < n; i++) {
            if (!connections.get(i).ready()) {
                limit += config.maxConcurrentStreams();
            }
        }
        return (int) Math.min(limit, Integer.MAX_VALUE);
    }

    /** Forgets a waiter whose exchange ended before it got a stream. */
    public void cancel(Http2StreamWaiter waiter) {
        Iterator<Waiting> it = waiting.iterator();
        while (it.hasNext()) {
            if (it.next().waiter == waiter) {
                it.remove();
                return;
            }
        }
    }

    /** Whether a request could have a stream right now without a new connection. */
    public boolean hasRoom() {
        return withRoom() != null;
    }

    private Http2UpstreamConnection withRoom() {
        for (int i = 0, n = connections.size(); i < n; i++) {
            Http2UpstreamConnection c = connections.get(i);
            if (c.hasRoom()) {
                return c;
            }
        }
        return null;
    }

    private void open(Http2UpstreamConnection c, Http2StreamWaiter waiter) {
        streams++;
        Future<Http2StreamChannel> f = c.openStream();
        if (f.isDone()) {
            opened(c, f, waiter);
        } else {
            f.addListener(done -> opened(c, f, waiter));
        }
    }

    private void opened(Http2UpstreamConnection c, Future<Http2StreamChannel> f, Http2StreamWaiter waiter) {
        c.streamOpenDone();
        if (!f.isSuccess()) {
            // The connection went away between the check and the open: nothing reached the backend.
            waiter.streamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_closed", false);
            return;
        }
        waiter.streamReady(f.getNow().pipeline().get(Http2UpstreamStream.class));
    }

    /** Opens another connection when the waiting requests outnumber what the opening ones will take. */
    private void maybeConnect() {
        if (closed) {
            return;
        }
        int expected = 0;
        int taking = 0;
        for (int i = 0, n = connections.size(); i < n; i++) {
            Http2UpstreamConnection c = connections.get(i);
            if (!c.ready()) {
                expected += config.maxConcurrentStreams();
            }
            // One told GOAWAY (or done with max_requests) only finishes its streams: it is not one of
            // the max_connections that take new ones (the backend's own max_connections still counts it).
            if (!c.retiring()) {
                taking++;
            }
        }
        if (waiting.size() > expected && taking < config.maxConnections() && !backend.atConnectionLimit()) {
            connect();
        }
    }

    private void connect() {
        connects++;
        backend.connectionOpened();
        Http2UpstreamConnection c = new Http2UpstreamConnection(this, tls != null);
        connections.add(c);
        ChannelFuture f = DirectConnect.connect(bootstrap.clone().handler(new Http2ConnectionInitializer(c, tls, sni,
                backend.config().address().port())), backend.connectAddress());
        c.connecting(f.channel(), connectTimeoutNanos);
        f.addListener(done -> {
            if (!done.isSuccess()) {
                boolean timeout = done.cause() instanceof ConnectTimeoutException;
                c.failed(timeout ? HttpResponseStatus.GATEWAY_TIMEOUT : HttpResponseStatus.BAD_GATEWAY,
                        timeout ? "upstream_connect_timeout" : "upstream_connect_failed");
            }
        });
        f.channel().closeFuture().addListener(done -> closed(c));
    }

    /** The backend's SETTINGS arrived (or raised the stream limit): hand out streams to waiters. */
    void serve() {
        Http2UpstreamConnection c;
        while (!waiting.isEmpty() && (c = withRoom()) != null) {
            open(c, waiting.pollFirst().waiter);
        }
        if (!waiting.isEmpty()) {
            maybeConnect();
            // A connection came up with fewer streams than it was counted for: the newest waiters
            // beyond the queue get 503, as they would have had they come now.
            for (int limit = queueLimit(); waiting.size() > limit; ) {
                waiting.pollLast().waiter.streamFailed(HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_overflow",
                        false);
            }
            if (!waiting.isEmpty()) {
                return;
            }
        }
        if (waitTimer != null) {
            waitTimer.cancel(false);
            waitTimer = null;
        }
        // A connection of a retired pool that came up after its waiters left.
        closeIdleIfRetired();
    }

    /**
     * A stream of {@code c} ended. Waiters are served in a task of their own: the stream channel
     * closes while the codec is still delivering the stream's last frame, and the codec counts the
     * stream as open until that delivery returns.
     */
    void streamEnded(Http2UpstreamConnection c) {
        if (c.idle() && (c.retiring() || retired && waiting.isEmpty())) {
            c.channel().close();
            return;
        }
        if (!waiting.isEmpty() && !serveScheduled) {
            serveScheduled = true;
            loop.execute(serveLater);
        }
    }

    private void serveLater() {
        serveScheduled = false;
        serve();
    }

    /** {@code c} was told GOAWAY: it takes no new streams, so waiters may need another connection. */
    void goingAway(Http2UpstreamConnection c) {
        if (c.idle()) {
            c.channel().close();
        }
        if (!waiting.isEmpty()) {
            maybeConnect();
        }
    }

    private void closed(Http2UpstreamConnection c) {
        backend.connectionClosed();
        connections.remove(c);
        c.closed();
        if (waiting.isEmpty()) {
            return;
        }
        if (!c.ready() && !anyConnecting()) {
            // The connection the waiters counted on failed, and no other is on its way: they can go
            // elsewhere (as Envoy purges its pending requests on a connect failure). Serving them
            // would connect again at once, and again, as fast as the backend refuses, while a full
            // connection keeps them waiting.
            failWaiting(c.failStatus(), c.failReason(), true);
            return;
        }
        serve();
    }

    private boolean anyConnecting() {
        for (int i = 0, n = connections.size(); i < n; i++) {
            if (!connections.get(i).ready()) {
                return true;
            }
        }
        return false;
    }

    private void failWaiting(HttpResponseStatus status, String reason, boolean backendFault) {
        if (waitTimer != null) {
            waitTimer.cancel(false);
            waitTimer = null;
        }
        Waiting w;
        while ((w = waiting.pollFirst()) != null) {
            w.waiter.streamFailed(status, reason, backendFault);
        }
    }

    private void armWaitTimer() {
        Waiting head = waiting.peekFirst();
        if (head == null) {
            waitTimer = null;
            return;
        }
        waitTimer = loop.schedule(expireWaiting, Math.max(0, head.deadlineNanos - System.nanoTime()),
                TimeUnit.NANOSECONDS);
    }

    private void expireWaiting() {
        long now = System.nanoTime();
        Waiting head;
        while ((head = waiting.peekFirst()) != null && now - head.deadlineNanos >= 0) {
            waiting.pollFirst();
            head.waiter.streamFailed(HttpResponseStatus.SERVICE_UNAVAILABLE, "upstream_queue_timeout", false);
        }
        armWaitTimer();
    }

    /** Closes connections that carried no stream for the idle timeout; run periodically by the loop. */
    void evictIdle(long nowNanos) {
        for (int i = connections.size() - 1; i >= 0; i--) {
            Http2UpstreamConnection c = connections.get(i);
            if (c.ready() && c.idle() && nowNanos - c.idleSinceNanos() >= idleTimeoutNanos) {
                c.channel().close();
            }
        }
    }

    /**
     * The group's members changed and this pool's generation is no longer picked from: its idle
     * connections close now, the others once their last stream ends (the sweep that would close them
     * for idleness no longer runs). Exchanges already on it, or retrying on it, still get streams.
     */
    void retire() {
        retired = true;
        closeIdleIfRetired();
    }

    /** In a retired pool with nobody waiting, closes the connections without streams. */
    private void closeIdleIfRetired() {
        if (!retired || !waiting.isEmpty()) {
            return;
        }
        for (Http2UpstreamConnection c : new ArrayList<>(connections)) {
            if (c.idle()) {
                c.channel().close();
            }
        }
    }

    void closeAll(List<ChannelFuture> closing) {
        closed = true;
        failWaiting(HttpResponseStatus.BAD_GATEWAY, "upstream_closed", false);
        for (Http2UpstreamConnection c : new ArrayList<>(connections)) {
            closing.add(c.closeNow());
        }
    }

    /** Open or opening connections. */
    public int connectionCount() {
        return connections.size();
    }

    /** Requests waiting for a stream. */
    public int waitingCount() {
        return waiting.size();
    }

    /** Connections opened by this pool so far. */
    public long connects() {
        return connects;
    }

    /** Streams opened by this pool so far. */
    public long streams() {
        return streams;
    }
}
