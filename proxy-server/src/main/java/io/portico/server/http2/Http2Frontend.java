package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.UncheckedBooleanSupplier;
import io.portico.server.config.Http2ListenerConfig;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * Turns a client connection into an HTTP/2 one: the frame codec (with a {@link SmallWriteCoalescer}
 * under it), the stream multiplexer and the {@link Http2ConnectionGuard}; every stream becomes a
 * child channel with AUTO_READ off, the {@link Http2StreamBridge} and the exchange handler
 * {@code exchanges} supplies (stream idle checks come from the guard's sweep).
 */
public final class Http2Frontend {

    private final Http2ListenerConfig config;
    private final Http2Counters counters;
    private final boolean connectProtocol;
    private final Supplier<ChannelHandler> exchanges;
    private final RefusedStreams refusedStreams;
    private final int maxStreams;
    private final long idleNanos;
    private final long bodyTimeoutNanos;
    private final long minBodyRate;
    private final WriteBufferWaterMark waterMark;

    /**
     * @param maxStreams      streams on one connection before a graceful GOAWAY (keepalive_requests)
     * @param idleTimeout     how long a connection may have no stream open before it is closed (keepalive_timeout)
     * @param bodyTimeout     how long a stream's exchange may wait for body bytes before it answers 408 (body_timeout)
     * @param minBodyRate     bytes per second a stream's body must keep up once bodyTimeout has passed, else 408
     *                        (min_body_rate; 0: off)
     * @param connectProtocol announce extended CONNECT (RFC 8441)
     * @param exchanges       a new exchange handler for each stream; it gets a
     *                        {@link io.portico.server.http1.MalformedStream} event before its stream
     *                        is reset as malformed, and a 408 {@link io.portico.server.http1.ClientFault}
     *                        when its body stops coming for {@code bodyTimeout} or falls below the rate
     * @param refusedStreams  logs a request the codec refused (malformed, or 431 for its header list)
     *                        before any exchange handler could (without fields)
     * @param waterMark       the connection's output buffer limits from here on (http2_connection_buffer)
     */
    public Http2Frontend(Http2ListenerConfig config, Http2Counters counters, int maxStreams, Duration idleTimeout,
                         Duration bodyTimeout, long minBodyRate, boolean connectProtocol,
                         Supplier<ChannelHandler> exchanges,
                         RefusedStreams refusedStreams, WriteBufferWaterMark waterMark) {
        this.config = config;
        this.counters = counters;
        this.maxStreams = maxStreams;
        this.idleNanos = idleTimeout.toNanos();
        this.bodyTimeoutNanos = bodyTimeout.toNanos();
        this.minBodyRate = minBodyRate;
        this.connectProtocol = connectProtocol;
        this.exchanges = exchanges;
        this.refusedStreams = refusedStreams;
        this.waterMark = waterMark;
    }

    /** Appends the HTTP/2 handlers to a connection whose HTTP/1 handlers are gone (ALPN h2, prior knowledge). */
    public void install(ChannelPipeline pipeline) {
        Http2ConnectionGuard guard = new Http2ConnectionGuard(config, counters, maxStreams, idleNanos, waterMark);
        pipeline.addLast("h2-coalesce", new SmallWriteCoalescer());
        pipeline.addLast("h2", Http2Codecs.newCodec(config, counters, connectProtocol, 0, refusedStreams));
        pipeline.addLast("h2-errors", new Http2StreamErrors(counters, guard));
        pipeline.addLast("h2-streams", new Http2MultiplexHandler(new StreamInitializer(guard)));
        pipeline.addLast("h2-guard", guard);
    }

    /** The codec {@code Upgrade: h2c} switches to; it adds the same handlers as {@link #install}. */
    public HttpServerUpgradeHandler.UpgradeCodec upgradeCodec() {
        Http2ConnectionGuard guard = new Http2ConnectionGuard(config, counters, maxStreams, idleNanos, waterMark);
        Http2FrameCodec codec = Http2Codecs.newCodec(config, counters, connectProtocol, 0, refusedStreams);
        return new Http2ServerUpgradeCodec(codec, new Http2StreamErrors(counters, guard),
                new Http2MultiplexHandler(new StreamInitializer(guard)), guard) {
            @Override
            public void upgradeTo(ChannelHandlerContext ctx, FullHttpRequest upgradeRequest) {
                super.upgradeTo(ctx, upgradeRequest);
                ChannelHandlerContext codecContext = ctx.pipeline().context(codec);
                if (codecContext != null) {
                    // Under the codec, as install() puts it; what the codec wrote so far is already on its way.
                    ctx.pipeline().addBefore(codecContext.name(), "h2-coalesce", new SmallWriteCoalescer());
                }
            }
        };
    }

    /**
     * Sets up each stream's channel as the multiplexer adds it, and steps aside: the same work as a
     * {@code ChannelInitializer}, without its per-channel bookkeeping (a concurrent map's insert
     * and removal per stream), since a stream channel is set up once, on its own event loop.
     */
    @ChannelHandler.Sharable
    private final class StreamInitializer extends ChannelHandlerAdapter {

        private final Http2ConnectionGuard guard;

        StreamInitializer(Http2ConnectionGuard guard) {
            this.guard = guard;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            try {
                // A stream's window opens only as its exchange reads (see package-info).
                ch.config().setAutoRead(false);
                ch.config().setRecvByteBufAllocator(StreamReads.ALLOCATOR);
                guard.streamOpened(ch);
                ChannelPipeline p = ctx.pipeline();
                p.replace(this, "h2-bridge", new Http2StreamBridge(counters, guard, bodyTimeoutNanos, minBodyRate));
                p.addLast("proxy", exchanges.get());
            } catch (RuntimeException | Error e) {
                // As ChannelInitializer does: a stream that could not be set up is closed (reset).
                ch.close();
                throw e;
            }
        }
    }

    /**
     * How a stream's channel paces its reads: one frame per read, as Netty's default handle does
     * on a channel with AUTO_READ off (its {@code continueReading} starts with
     * {@code config.isAutoRead()}), but without a handle and a size calculator of its own per
     * stream. A stream's channel allocates nothing with it: the frames come decoded.
     */
    @SuppressWarnings("deprecation") // ExtendedHandle extends the deprecated Handle
    private static final class StreamReads implements RecvByteBufAllocator.ExtendedHandle {

        static final StreamReads HANDLE = new StreamReads();
        static final RecvByteBufAllocator ALLOCATOR = () -> HANDLE;

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return alloc.ioBuffer(guess());
        }

        @Override
        public int guess() {
            return 1024;
        }

        @Override
        public void reset(ChannelConfig config) {
        }

        @Override
        public void incMessagesRead(int numMessages) {
        }

        @Override
        public void lastBytesRead(int bytes) {
        }

        @Override
        public int lastBytesRead() {
            return 0;
        }

        @Override
        public void attemptedBytesRead(int bytes) {
        }

        @Override
        public int attemptedBytesRead() {
            return 0;
        }

        @Override
        public boolean continueReading() {
            return false;
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return false;
        }

        @Override
        public void readComplete() {
        }
    }

    /** Whether {@code ch} is one HTTP/2 stream rather than a whole connection. */
    public static boolean isStream(Channel ch) {
        return ch instanceof Http2StreamChannel;
    }
}
