package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.config.Http2ListenerConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class Http2CodecsTest {

    private static final RefusedStreams NOT_LOGGED = new RefusedStreams() {
        @Override
        public void malformed() {
        }

        @Override
        public void headerListTooLarge() {
        }
    };

    @Test
    void theServerPrefaceAnnouncesTheConfiguredSettings() {
        EmbeddedChannel ch = new EmbeddedChannel(Http2Codecs.newCodec(Http2ListenerConfig.defaults(), new Http2Counters(), true, 0, NOT_LOGGED));
        ByteBuf settings = ch.readOutbound();
        assertThat(settings).isNotNull();
        // type SETTINGS, 6 entries of 6 bytes: header table, push, max streams, window, frame, header list, connect
        assertThat(settings.getByte(3)).isEqualTo((byte) 0x4);
        settings.release();
        ch.finishAndReleaseAll();
    }

    /**
     * RFC 7541 section 7.1.3: a cookie set by the response leaves as a literal "never indexed"
     * (first byte 0001xxxx; set-cookie is static entry 55: 0x1f 0x28), not one added to the
     * connection's dynamic table (01xxxxxx: 0x77), so it cannot be probed through compression.
     */
    @Test
    void setCookieIsSentNeverIndexedAndOtherFieldsAreIndexed() {
        EmbeddedChannel ch = new EmbeddedChannel(Http2Codecs.newCodec(Http2ListenerConfig.defaults(), new Http2Counters(), false, 0, NOT_LOGGED));
        drainOutbound(ch);
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(Http2CodecUtil.connectionPrefaceBuf());
        DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
        writer.writeSettings(ch.pipeline().firstContext(), new Http2Settings(), ch.newPromise());
        writer.writeHeaders(ch.pipeline().firstContext(), 1, new DefaultHttp2Headers()
                .method("GET").path("/").scheme("https").authority("a"), 0, true, ch.newPromise());
        // The writer wrote below the codec: take those bytes back as the client's.
        ch.flush();
        drainOutboundInto(ch, in);
        ch.writeInbound(in);
        Object frame;
        while (!((frame = ch.readInbound()) instanceof Http2HeadersFrame)) {
            // The client's SETTINGS, as a frame.
            assertThat(frame).isNotNull();
            ReferenceCountUtil.release(frame);
        }
        Http2HeadersFrame request = (Http2HeadersFrame) frame;
        assertThat(request.headers().path().toString()).isEqualTo("/");
        drainOutbound(ch);

        Http2Headers response = new DefaultHttp2Headers().status("200")
                .add("set-cookie", "session=secret").add("content-type", "text/plain");
        ch.writeOutbound(new DefaultHttp2HeadersFrame(response, true).stream(request.stream()));
        ByteBuf out = Unpooled.buffer();
        drainOutboundInto(ch, out);
        byte[] block = ByteBufUtil.getBytes(out, 9, out.readableBytes() - 9);
        out.release();
        assertThat(block[0] & 0xff).as(":status 200, static entry 8").isEqualTo(0x88);
        assertThat(new int[] {block[1] & 0xff, block[2] & 0xff}).as("set-cookie never indexed").containsExactly(0x1f, 0x28);
        int valueLength = block[3] & 0x7f;
        assertThat(block[4 + valueLength] & 0xff).as("content-type with incremental indexing").isEqualTo(0x5f);
        ch.finishAndReleaseAll();
    }

    /**
     * A backend may refuse streams (REFUSED_STREAM, which Portico retries) as often as it likes:
     * the codec of a backend connection must not apply the limit on a peer's RST_STREAM frames
     * that guards Portico's listeners against rapid reset.
     */
    @Test
    void aBackendConnectionSurvivesManyRefusedStreams() throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel(Http2Codecs.forUpstream()
                .initialSettings(new Http2Settings().pushEnabled(false)).build(),
                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
        drainOutbound(ch);
        DefaultHttp2FrameWriter writer = new DefaultHttp2FrameWriter();
        ch.writeInbound(backendBytes(ch, writer, (ctx, p) -> writer.writeSettings(ctx, new Http2Settings(), p)));
        drainOutbound(ch);
        for (int i = 0; i < 250; i++) {
            Http2StreamChannel stream = new Http2StreamChannelBootstrap(ch).handler(new ChannelInboundHandlerAdapter())
                    .open().syncUninterruptibly().getNow();
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers()
                    .method("GET").path("/").scheme("http").authority("backend"), true));
            ch.runPendingTasks();
            drainOutbound(ch);
            int id = stream.stream().id();
            ch.writeInbound(backendBytes(ch, writer,
                    (ctx, p) -> writer.writeRstStream(ctx, id, Http2Error.REFUSED_STREAM.code(), p)));
            assertThat(ch.isActive()).as("connection open after " + (i + 1) + " refused streams").isTrue();
            drainOutbound(ch);
        }
        ch.finishAndReleaseAll();
    }

    private interface FrameWrite {
        void write(ChannelHandlerContext ctx, ChannelPromise promise) throws Exception;
    }

    /** The bytes of one frame as the backend sends it. */
    private static ByteBuf backendBytes(EmbeddedChannel ch, DefaultHttp2FrameWriter writer, FrameWrite write)
            throws Exception {
        EmbeddedChannel capture = new EmbeddedChannel(new ChannelOutboundHandlerAdapter());
        ChannelHandlerContext ctx = capture.pipeline().firstContext();
        write.write(ctx, ctx.newPromise());
        capture.flush();
        ByteBuf out = Unpooled.buffer();
        drainOutboundInto(capture, out);
        capture.finishAndReleaseAll();
        return out;
    }

    private static void drainOutbound(EmbeddedChannel ch) {
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            b.release();
        }
    }

    private static void drainOutboundInto(EmbeddedChannel ch, ByteBuf into) {
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            into.writeBytes(b);
            b.release();
        }
    }
}
