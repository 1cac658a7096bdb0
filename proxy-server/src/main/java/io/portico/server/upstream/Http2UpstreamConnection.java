package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.config.Http2UpstreamConfig;

import javax.net.ssl.SSLException;
import java.util.concurrent.TimeUnit;

/**
 * The last handler of an HTTP/2 upstream connection's pipeline, and the connection's state: whether
 * the backend's SETTINGS arrived, its stream limit, how many streams are open, how many got their
 * whole response, whether it was told GOAWAY (and the last stream the backend will process), when
 * it went idle, PING keepalive.
 */
final class Http2UpstreamConnection extends ChannelInboundHandlerAdapter {

    private static final String H2 = ApplicationProtocolNames.HTTP_2;

    private final Http2ConnectionPool pool;
    private final boolean tls;
    private Channel channel;
    private Http2FrameCodec codec;
    private Http2StreamChannelBootstrap streamBootstrap;
    private boolean ready;
    private boolean goingAway;
    private boolean isClosed;
    private int lastStreamId = Integer.MAX_VALUE;
    private int remoteMaxStreams = Integer.MAX_VALUE;
    private int active;
    private int opening;
    private int opened;
    private int completed;
    private long idleSinceNanos;
    private HttpResponseStatus failStatus = HttpResponseStatus.BAD_GATEWAY;
    private String failReason = "upstream_closed";
    private ScheduledFuture<?> timer;
    private ScheduledFuture<?> pingTimeout;
    private boolean pingOutstanding;

    Http2UpstreamConnection(Http2ConnectionPool pool, boolean tls) {
        this.pool = pool;
        this.tls = tls;
    }

    void codec(Http2FrameCodec codec) {
        this.codec = codec;
    }

    boolean tls() {
        return tls;
    }

    Channel channel() {
        return channel;
    }

    Http2ConnectionPool pool() {
        return pool;
    }

    /** The connection was started; it must be ready (SETTINGS received) within the connect timeout. */
    void connecting(Channel ch, long timeoutNanos) {
        channel = ch;
        timer = ch.eventLoop().schedule(() -> {
            if (!ready) {
                failed(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream_connect_timeout");
            }
        }, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    /** Ends a connection that never became ready, remembering why for the requests waiting on it. */
    void failed(HttpResponseStatus status, String reason) {
        if (!ready && "upstream_closed".equals(failReason)) {
            failStatus = status;
            failReason = reason;
        }
        channel.close();
    }

    HttpResponseStatus failStatus() {
        return failStatus;
    }

    String failReason() {
        return failReason;
    }

    boolean ready() {
        return ready;
    }

    /** Takes no new streams: told GOAWAY, carried its share of requests, or closed. */
    boolean retiring() {
        return goingAway || isClosed || opened >= pool.maxRequests();
    }

    boolean idle() {
        return active == 0 && opening == 0;
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    /** The last stream id the backend said it will process (GOAWAY), or Integer.MAX_VALUE. */
    int lastStreamId() {
        return lastStreamId;
    }

    boolean hasRoom() {
        if (!ready || retiring() || !channel.isActive()) {
            return false;
        }
        return active + opening < Math.min(pool.config().maxConcurrentStreams(), remoteMaxStreams)
                && codec.connection().local().canOpenStream();
    }

    Future<Http2StreamChannel> openStream() {
        opening++;
        opened++;
        return streamBootstrap.open();
    }

    /**
     * Streams on this connection that got their whole response so far: until one has, the connection
     * has not proved that the backend serves requests on it (see {@link Http2UpstreamStream#reused()}).
     */
    int completed() {
        return completed;
    }

    /** A stream got its whole final response, without a framing error. */
    void streamCompleted() {
        completed++;
    }

    void streamOpenDone() {
        opening--;
    }

    void streamAdded() {
        active++;
    }

    void streamRemoved() {
        active--;
        if (idle()) {
            idleSinceNanos = System.nanoTime();
        }
        pool.streamEnded(this);
    }

    void closed() {
        isClosed = true;
        cancelTimers();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        streamBootstrap = new Http2StreamChannelBootstrap(channel)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new Http2StreamInitializer(this));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2SettingsFrame settings) {
                // Read from the frame: the codec applies it only once its ACK is flushed, after
                // this read, and streams opened now must already respect it.
                Long max = settings.settings().maxConcurrentStreams();
                if (max != null) {
                    remoteMaxStreams = (int) Math.min(max, Integer.MAX_VALUE);
                }
                if (!ready) {
                    becomeReady(ctx);
                } else {
                    pool.serve();
                }
            } else if (msg instanceof Http2GoAwayFrame goAway) {
                goingAway = true;
                lastStreamId = Math.min(lastStreamId, goAway.lastStreamId());
                pool.goingAway(this);
            } else if (msg instanceof Http2PingFrame ping && ping.ack()) {
                pingOutstanding = false;
                if (pingTimeout != null) {
                    pingTimeout.cancel(false);
                    pingTimeout = null;
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void becomeReady(ChannelHandlerContext ctx) {
        if (tls) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl == null || !H2.equals(ssl.applicationProtocol())) {
                failed(HttpResponseStatus.BAD_GATEWAY, "upstream_alpn_failed");
                return;
            }
        }
        ready = true;
        idleSinceNanos = System.nanoTime();
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        widenConnectionWindow(ctx);
        long interval = pool.config().pingInterval().toNanos();
        if (interval > 0) {
            timer = ctx.executor().scheduleAtFixedRate(this::ping, interval, interval, TimeUnit.NANOSECONDS);
        }
        pool.serve();
    }

    /**
     * The connection window is made as large as all the stream windows together, so one stream whose
     * client reads slowly can never use up the window the other streams need. Memory stays bounded by
     * the stream windows: a stream is never sent more than its own window ahead of its client.
     */
    private void widenConnectionWindow(ChannelHandlerContext ctx) {
        Http2UpstreamConfig config = pool.config();
        long target = Math.min(Http2UpstreamConfig.MAX_WINDOW,
                config.initialWindowSize().bytes() * config.maxConcurrentStreams());
        Http2Connection connection = codec.connection();
        int current = connection.local().flowController().windowSize(connection.connectionStream());
        if (target > current) {
            try {
                connection.local().flowController().incrementWindowSize(connection.connectionStream(),
                        (int) (target - current));
                ctx.flush();
            } catch (Http2Exception e) {
                ctx.fireExceptionCaught(e);
            }
        }
    }

    private void ping() {
        if (!channel.isActive() || pingOutstanding) {
            return;
        }
        pingOutstanding = true;
        channel.writeAndFlush(new DefaultHttp2PingFrame(System.nanoTime()), channel.voidPromise());
        pingTimeout = channel.eventLoop().schedule(() -> {
            if (pingOutstanding) {
                // A backend that stopped answering: its streams fail now instead of at their timeouts.
                closeNow();
            }
        }, pool.config().pingTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent handshake && !handshake.isSuccess()) {
            failed(HttpResponseStatus.BAD_GATEWAY, "upstream_tls_failed");
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimers();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Connection errors were answered with GOAWAY by the codec; the streams learn of it as they close.
        if (!ready && cause.getCause() instanceof SSLException) {
            failed(HttpResponseStatus.BAD_GATEWAY, "upstream_tls_failed");
            return;
        }
        closeNow();
    }

    /**
     * Closes without the codec's graceful wait for open streams: the connection is broken, or Portico
     * is stopping after its own drain.
     */
    ChannelFuture closeNow() {
        if (codec != null) {
            codec.gracefulShutdownTimeoutMillis(0);
        }
        return channel.close();
    }

    private void cancelTimers() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (pingTimeout != null) {
            pingTimeout.cancel(false);
            pingTimeout = null;
        }
    }
}
