package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.portico.server.http2.UnknownFrames;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.config.Http2UpstreamConfig;
import io.portico.server.http2.Http2Codecs;
import io.portico.tls.ClientTls;

/**
 * The pipeline of an HTTP/2 connection to a backend: TLS (ALPN {@code h2}) for {@code h2}, nothing
 * for {@code h2c}; the frame codec; the multiplexer that gives each stream a child channel; the
 * connection's state.
 */
final class Http2ConnectionInitializer extends ChannelInitializer<Channel> {

    /** Response header list limit, as for HTTP/1.1 upstream responses. */
    static final int MAX_HEADER_LIST_SIZE = UpstreamChannelInitializer.MAX_HEADER_SIZE;
    /** How long closing a connection waits for its streams after sending GOAWAY. */
    private static final long GRACEFUL_CLOSE_MILLIS = 5_000;

    private final Http2UpstreamConnection connection;
    private final ClientTls tls;
    private final String sni;
    private final int port;

    Http2ConnectionInitializer(Http2UpstreamConnection connection, ClientTls tls, String sni, int port) {
        this.connection = connection;
        this.tls = tls;
        this.sni = sni;
        this.port = port;
    }

    @Override
    protected void initChannel(Channel ch) {
        if (tls != null) {
            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), sni, port));
        }
        Http2UpstreamConfig config = connection.pool().config();
        Http2Settings settings = new Http2Settings()
                .pushEnabled(false)
                .initialWindowSize((int) config.initialWindowSize().bytes())
                .maxHeaderListSize(MAX_HEADER_LIST_SIZE);
        Http2FrameCodec codec = Http2Codecs.forUpstream()
                .initialSettings(settings)
                .validateHeaders(true)
                .headerSensitivityDetector(Http2Codecs.NEVER_INDEXED)
                .gracefulShutdownTimeoutMillis(GRACEFUL_CLOSE_MILLIS)
                .build();
        connection.codec(codec);
        ch.pipeline()
                .addLast("h2", codec)
                .addLast("h2-unknown", UnknownFrames.INSTANCE)
                .addLast("mux", new Http2MultiplexHandler(NoPushedStreams.INSTANCE))
                .addLast("upstream", connection);
    }

    /** Push is disabled in our SETTINGS, so a stream the backend opens is a protocol violation: reset it. */
    @ChannelHandler.Sharable
    static final class NoPushedStreams extends ChannelInboundHandlerAdapter {
        static final NoPushedStreams INSTANCE = new NoPushedStreams();

        @Override
        public void channelRegistered(ChannelHandlerContext ctx) {
            ctx.close();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }
}
