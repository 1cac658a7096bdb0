package io.portico.server.http2;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.config.Http2ListenerConfig;
import io.portico.server.limits.ConnectionIdleTimer;
import io.portico.server.http1.ServerLifecycle;

import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.util.ArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The last handler of an HTTP/2 client connection: it opens the connection's receive window,
 * counts streams, closes a connection that has had no stream open for keepalive_timeout (with
 * GOAWAY, as nginx does), names the abuse behind each connection error in
 * {@link Http2Counters} (Netty's codec has already sent the GOAWAY), and drains on shutdown in two
 * steps as RFC 9113 section 6.8 suggests: a GOAWAY with the largest stream id, a PING round trip
 * (at most a second) for streams already on their way, then a GOAWAY with the real last stream id; the connection
 * closes when its last stream ends.
 */
final class Http2ConnectionGuard extends ChannelDuplexHandler implements ChannelFutureListener {

    static final System.Logger LOG = System.getLogger("portico");

    /** PING payload that marks the round trip between the two GOAWAY frames of a drain. */
    private static final long DRAIN_PING = 0x706f727469636fL;
    /**
     * How long the first GOAWAY of a drain waits for its PING's answer before the final one goes
     * anyway (Go's server waits 1 s too): a client that never answers must not keep opening streams.
     */
    private static final long DRAIN_PING_TIMEOUT_MILLIS = 1000;

    private final Http2ListenerConfig config;
    private final Http2Counters counters;
    /** Streams served on one connection before a graceful GOAWAY (the listener's keepalive_requests). */
    private final int maxStreams;
    private int streamsSeen;
    private ChannelHandlerContext ctx;
    /** The frame codec's context and encoder, for streams' frames written past their channels (see {@link #codecContext}). */
    private ChannelHandlerContext codec;
    private Http2ConnectionEncoder encoder;
    /** A void promise of the connection whose failure is not fired down the pipeline. */
    private ChannelPromise quietVoid;
    private final WriteBufferWaterMark waterMark;
    /** A read of the connection is under way: the codec flushes it when the read completes. */
    private boolean reading;
    private boolean flushPending;
    private final Runnable flushTask = this::runPendingFlush;
    private final ArrayList<Http2StreamBridge> streams = new ArrayList<>();
    private final long streamIdleNanos;
    private ScheduledFuture<?> sweep;
    /** The listener's keepalive_timeout: how long the connection may have no stream open. */
    private final long idleNanos;
    /** Closes the connection once it has had no stream open for {@link #idleNanos}. */
    private ConnectionIdleTimer idleTimer;
    private int activeStreams;
    private boolean draining;
    private boolean finalGoAwaySent;

    /**
     * @param maxStreams streams on the connection before it is drained, as nginx's keepalive_requests does for h2
     * @param idleNanos  how long the connection may have no stream open before it is closed (keepalive_timeout)
     */
    /** @param waterMark the connection's output buffer limits as an HTTP/2 connection (http2_connection_buffer) */
    Http2ConnectionGuard(Http2ListenerConfig config, Http2Counters counters, int maxStreams, long idleNanos,
                         WriteBufferWaterMark waterMark) {
        this.config = config;
        this.waterMark = waterMark;
        this.counters = counters;
        this.maxStreams = maxStreams;
        this.streamIdleNanos = config.streamIdleTimeout().toNanos();
        this.idleNanos = idleNanos;
    }

    /**
     * A stream's bridge is open. One sweep per connection, every quarter of stream_idle_timeout
     * while streams are open, replaces a timer per stream and a promise per write.
     */
    void track(Http2StreamBridge stream) {
        streams.add(stream);
        if (sweep == null) {
            long period = Math.max(streamIdleNanos / 4, TimeUnit.MILLISECONDS.toNanos(50));
            sweep = ctx.executor().scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.NANOSECONDS);
        }
    }

    void untrack(Http2StreamBridge stream) {
        streams.remove(stream);
    }

    /**
     * Flushes the connection once, after the event loop's current pass (false: the caller must
     * flush itself). Streams answered from upstream reads (outside this connection's own read,
     * where Netty already gathers the streams' flushes) would otherwise each flush the whole
     * connection: the codec's flow controller and the pipeline below it once per response.
     */
    boolean flushSoon() {
        if (ctx == null) {
            // Not in the pipeline yet (an Upgrade: h2c answered at once): the stream flushes itself.
            return false;
        }
        if (!flushPending) {
            flushPending = true;
            try {
                ctx.executor().execute(flushTask);
            } catch (RejectedExecutionException shutDown) {
                runPendingFlush();
            }
        }
        return true;
    }

    private void runPendingFlush() {
        flushPending = false;
        ctx.flush();
    }

    /**
     * Flushes what streams wrote to the encoder through {@link #codecContext()}, from above the
     * codec (so its flow controller writes what it holds): now, or within a read of the
     * connection at the read's end, where Netty's codec flushes anyway (as Netty ignores stream
     * channels' flushes until then); the flush after the loop's pass is a backstop.
     */
    void flushDirect() {
        if (reading) {
            flushSoon();
        } else {
            ctx.flush();
        }
    }

    /** Told by {@link Http2StreamErrors} as a read of the connection brings frames. */
    void readStarted() {
        reading = true;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // (The codec's flush after this read comes once this returns.)
        reading = false;
        ctx.fireChannelReadComplete();
    }

    /**
     * The frame codec's context, for a stream that writes its frames to {@link #encoder()} itself,
     * past its channel's write path; null when the guard is not in the pipeline yet (an
     * {@code Upgrade: h2c} answered at once) or the codec is gone. Frames written so reach the
     * socket with {@link #flushDirect()}, not the stream channel's flush.
     */
    ChannelHandlerContext codecContext() {
        ChannelHandlerContext c = codec;
        return c != null && !c.isRemoved() ? c : null;
    }

    Http2ConnectionEncoder encoder() {
        return encoder;
    }

    /**
     * A void promise for frames written through {@link #codecContext()} that nobody waits for. A
     * failure is not fired down the connection's pipeline, where a stream's failed write would be
     * taken for the connection's error; the codec resets a stream whose frame it could not encode,
     * and a connection that failed closes with its streams.
     */
    ChannelPromise quietVoidPromise() {
        return quietVoid;
    }

    private void sweep() {
        long now = System.nanoTime();
        // Backwards: a stream the check resets leaves the list on the way.
        for (int i = streams.size() - 1; i >= 0; i--) {
            if (i < streams.size()) {
                streams.get(i).checkIdle(now, streamIdleNanos);
            }
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelTimers();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimers();
        ctx.fireChannelInactive();
    }

    private void cancelTimers() {
        if (sweep != null) {
            sweep.cancel(false);
            sweep = null;
        }
        if (idleTimer != null) {
            idleTimer.cancel();
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        counters.connectionOpened();
        Channel ch = ctx.channel();
        ChannelHandlerContext codecCtx = ctx.pipeline().context(Http2FrameCodec.class);
        if (codecCtx != null) {
            codec = codecCtx;
            encoder = ((Http2FrameCodec) codecCtx.handler()).encoder();
            quietVoid = new VoidChannelPromise(ch, false);
        }
        // HTTP/2 frames are read as they come: flow control is per stream (see the child channels).
        ch.config().setAutoRead(true);
        // One output buffer carries all the streams' frames (see BufferBudget.http2WaterMark).
        ch.config().setWriteBufferWaterMark(waterMark);
        int extra = config.connectionWindowSize().intBytes() - Http2CodecUtil.DEFAULT_WINDOW_SIZE;
        if (extra > 0) {
            ctx.write(new DefaultHttp2WindowUpdateFrame(extra));
        }
        ctx.flush();
        ch.read();
        // Before its first stream the connection is idle too: a client that only sent the preface
        // held it (and its socket) for good, as nothing else closed an HTTP/2 connection.
        // Netty's close sends GOAWAY with the last stream id first.
        idleTimer = new ConnectionIdleTimer(ctx.executor(), () -> idleNanos,
                () -> !ctx.channel().isActive() || activeStreams > 0, ctx::close);
        idleTimer.idle();
    }

    void streamOpened(Channel stream) {
        activeStreams++;
        counters.streamOpened();
        stream.closeFuture().addListener(this);
        if (++streamsSeen == maxStreams) {
            // This stream is served; the client opens its next ones on a new connection.
            drain();
        }
    }

    /** A stream's child channel closed. */
    @Override
    public void operationComplete(ChannelFuture future) {
        activeStreams--;
        if (draining && finalGoAwaySent && activeStreams == 0) {
            ctx.close();
            return;
        }
        if (activeStreams == 0 && ctx.channel().isActive()) {
            // (Streams also end as a closed connection takes them down: no timer would hold it then.)
            idleTimer.idle();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2PingFrame ping && ping.ack() && ping.content() == DRAIN_PING && draining) {
                sendFinalGoAway();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ServerLifecycle.DRAIN || evt == ServerLifecycle.RETIRE) {
            drain();
            return;
        }
        // The h2c upgrade event has done its work in the codec.
        ReferenceCountUtil.release(evt);
    }

    private void drain() {
        if (draining) {
            return;
        }
        draining = true;
        counters.gracefulGoAway();
        if (activeStreams == 0) {
            // Netty's close sends the GOAWAY with the last stream id and closes.
            ctx.close();
            return;
        }
        ctx.write(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR).setExtraStreamIds(Integer.MAX_VALUE));
        ctx.writeAndFlush(new DefaultHttp2PingFrame(DRAIN_PING));
        // Without this, a client that ignored the PING kept the connection open with new streams past
        // keepalive_requests, and on a reload on the old config, for as long as it stayed busy.
        ctx.executor().schedule(this::sendFinalGoAway, DRAIN_PING_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void sendFinalGoAway() {
        if (finalGoAwaySent || !ctx.channel().isActive()) {
            return;
        }
        finalGoAwaySent = true;
        ctx.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
        if (activeStreams == 0) {
            ctx.close();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Http2Exception h2 = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
        if (h2 != null) {
            // The codec sends GOAWAY and closes after this handler has seen the error. Flood
            // exceptions raised on the way out were counted where they were raised.
            if (!(h2 instanceof FloodGuard.FloodException flood) || !flood.reason().outbound()) {
                counters.count(reason(h2));
            }
            return;
        }
        if (!(cause instanceof IOException)) {
            LOG.log(System.Logger.Level.WARNING, "HTTP/2 connection error from " + ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    /** Which limit a connection error came from; Netty's own limits are told apart by their messages. */
    static Http2Counters.Reason reason(Http2Exception e) {
        if (e instanceof FloodGuard.FloodException flood) {
            return flood.reason();
        }
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (m.contains("RST frames")) {
            return Http2Counters.Reason.RAPID_RESET;
        }
        if (m.contains("continuations frames")) {
            return Http2Counters.Reason.CONTINUATION_FLOOD;
        }
        if (m.contains(FloodGuard.HEADER_BLOCK_TOO_LARGE)) {
            // One HEADERS frame over the hard limit (CONTINUATION frames that carry a block there are
            // a FloodException of their own, see FloodGuard).
            return Http2Counters.Reason.HEADER_LIST_TOO_LARGE;
        }
        if (m.contains("empty data frames")) {
            return Http2Counters.Reason.EMPTY_DATA_FLOOD;
        }
        if (m.contains("outstanding control frames")) {
            return Http2Counters.Reason.CONTROL_FRAME_QUEUE;
        }
        return Http2Counters.Reason.PROTOCOL_ERROR;
    }
}
