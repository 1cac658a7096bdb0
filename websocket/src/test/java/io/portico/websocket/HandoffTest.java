package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static io.portico.websocket.WireFrames.FIN;
import static io.portico.websocket.WireFrames.TEXT;
import static io.portico.websocket.WireFrames.concat;
import static io.portico.websocket.WireFrames.frame;
import static io.portico.websocket.WireFrames.utf8;
import static org.assertj.core.api.Assertions.assertThat;

/** The hand-over from the HTTP handlers to the relay, on embedded channels so that the timing is exact. */
class HandoffTest {

    @Test
    void relaysFramesThatArrivedInTheSameReadAsThe101InOrder() {
        EmbeddedChannel client = new EmbeddedChannel(new HttpServerCodec());
        EmbeddedChannel upstream = new EmbeddedChannel(new HttpClientCodec());
        upstream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpResponse) {
                    WebSocketRelay.start(client, upstream, WebSocketRelay.Mode.FRAMES, RelayLimits.defaults(), false,
                            () -> { });
                    // This handler goes before the codec, so that the bytes the codec still holds
                    // pass on to the relay; and the upstream's handlers go first, while the client
                    // still has its HTTP encoder.
                    upstream.pipeline().remove(this);
                    upstream.pipeline().remove(HttpClientCodec.class);
                    client.pipeline().remove(HttpServerCodec.class);
                }
                ReferenceCountUtil.release(msg);
            }
        });
        upstream.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ws"));
        releaseAll(upstream);

        byte[] response = utf8("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
        upstream.writeInbound(Unpooled.wrappedBuffer(concat(response,
                frame(FIN | TEXT, utf8("first"), false), frame(FIN | TEXT, utf8("second"), false))));
        upstream.runPendingTasks();
        client.runPendingTasks();

        assertThat(outbound(client)).isEqualTo(new String(concat(
                frame(FIN | TEXT, utf8("first"), false), frame(FIN | TEXT, utf8("second"), false)),
                StandardCharsets.ISO_8859_1));
        client.finishAndReleaseAll();
        upstream.finishAndReleaseAll();
    }

    private static String outbound(EmbeddedChannel channel) {
        StringBuilder bytes = new StringBuilder();
        ByteBuf buf;
        while ((buf = channel.readOutbound()) != null) {
            bytes.append(buf.toString(StandardCharsets.ISO_8859_1));
            buf.release();
        }
        return bytes.toString();
    }

    private static void releaseAll(EmbeddedChannel channel) {
        Object msg;
        while ((msg = channel.readOutbound()) != null) {
            ReferenceCountUtil.release(msg);
        }
    }
}
