package io.portico.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpExpectationFailedEvent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class FramingGuardTest {

    /** Passes good bytes on; a bad byte closes the channel (what the guard then does is the subclass's business). */
    private static final class Guard extends FramingGuard {
        Guard() {
            super(Http1FramingScanner.forRequests());
        }

        @Override
        protected void onBadByte(ChannelHandlerContext ctx, ByteBuf buf, int bad) {
            buf.release();
            ctx.close();
        }
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    @Test
    void aRefusedExpectationDoesNotMakeTheDecoderTakeTheBodyForANewRequest() {
        // What Netty's aggregators do after a 417: fire this at the pipeline's start, which makes the
        // decoder drop the body in progress. The body here reads as a request head.
        String body = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
        EmbeddedChannel ch = new EmbeddedChannel(new Guard(), new HttpRequestDecoder());
        ch.writeInbound(ascii("POST /upload HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nContent-Length: "
                + body.length() + "\r\n\r\n"));
        HttpRequest head = ch.readInbound();
        assertThat(head.uri()).isEqualTo("/upload");

        ch.pipeline().fireUserEventTriggered(HttpExpectationFailedEvent.INSTANCE);
        ch.writeInbound(ascii(body));
        ch.writeInbound(ascii("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"));

        // The body arrives as the body, and the next request is the one after it.
        int bodyBytes = 0;
        Object msg;
        while ((msg = ch.readInbound()) instanceof HttpContent content) {
            bodyBytes += content.content().readableBytes();
            boolean last = content instanceof LastHttpContent;
            content.release();
            if (last) {
                break;
            }
        }
        assertThat(bodyBytes).isEqualTo(body.length());
        HttpRequest next = ch.readInbound();
        assertThat(next.uri()).isEqualTo("/next");
        ReferenceCountUtil.release(ch.readInbound());
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void whatAReadSetsOffSeesOneTimeAndAfterwardsTheClockIsFreshAgain() {
        long[] seen = new long[2];
        EmbeddedChannel ch = new EmbeddedChannel(new Guard(), new HttpRequestDecoder(),
                new io.netty.channel.ChannelInboundHandlerAdapter() {
                    private int n;

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg);
                        if (n < 2) {
                            long t = ReadClock.nanoTime();
                            seen[n++] = t;
                            // Time passes while the read is handled; the clock stays at its start.
                            while (System.nanoTime() - t <= 0) {
                                Thread.onSpinWait();
                            }
                        }
                    }
                });
        // One read, two requests: both are handled at the read's time.
        ch.writeInbound(ascii("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"));
        assertThat(seen[1]).isEqualTo(seen[0]);
        assertThat(ReadClock.nanoTime() - seen[0]).isGreaterThan(0);
        ch.finishAndReleaseAll();
    }

    @Test
    void otherEventsPassOn() {
        Object[] seen = new Object[1];
        EmbeddedChannel ch = new EmbeddedChannel(new Guard(), new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                seen[0] = evt;
            }
        });
        ch.pipeline().fireUserEventTriggered("an event");
        assertThat(seen[0]).isEqualTo("an event");
        ch.finishAndReleaseAll();
    }
}
