package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The client connection's codec writes what Netty's own server codec writes (HEAD and pipelining
 * included), and a pre-encoded cache-hit head comes out as its bytes plus its per-hit fields.
 */
class Http1ServerCodecTest {

    private static final byte[] PREFIX = "Content-Type: text/plain\r\nContent-Length: 5\r\nETag: \"v1\"\r\n"
            .getBytes(StandardCharsets.ISO_8859_1);

    private static EmbeddedChannel ours() {
        return new EmbeddedChannel(new Http1ServerCodec(new HttpDecoderConfig(), 64));
    }

    /** Sends {@code requests} in, drops the decoded requests, writes the responses, returns the bytes out. */
    private static String exchange(ChannelHandler codec, String requests, Consumer<EmbeddedChannel> respond) {
        EmbeddedChannel ch = new EmbeddedChannel(codec);
        ch.writeInbound(Unpooled.copiedBuffer(requests, StandardCharsets.ISO_8859_1));
        Object in;
        while ((in = ch.readInbound()) != null) {
            ReferenceCountUtil.release(in);
        }
        respond.accept(ch);
        ch.flushOutbound();
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        ch.finishAndReleaseAll();
        return out.toString();
    }

    private static HttpHeaders perHit() {
        return new DefaultHttpHeaders(false).add("age", "3").add("x-request-id", "r1").add("cache-status", "portico; hit");
    }

    private static HttpHeaders allFields() {
        return new DefaultHttpHeaders(false).add("Content-Type", "text/plain").add("Content-Length", "5")
                .add("ETag", "\"v1\"").add(perHit());
    }

    @Test
    void aPreEncodedHitIsOneBufferWithItsFieldsAsNettyWouldWriteThem() {
        EmbeddedChannel ch = ours();
        ch.writeInbound(Unpooled.copiedBuffer("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", StandardCharsets.ISO_8859_1));
        ReferenceCountUtil.release(ch.readInbound());
        ch.writeOutbound(new HitHead.FullResponse(HttpResponseStatus.OK, Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII),
                perHit(), PREFIX, false));
        ByteBuf one = ch.readOutbound();
        assertThat((Object) ch.readOutbound()).isNull();
        String reference = exchange(new HttpServerCodec(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                c -> c.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII), allFields(), new DefaultHttpHeaders())));
        assertThat(one.toString(StandardCharsets.ISO_8859_1)).isEqualTo(reference)
                .startsWith("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n").endsWith("cache-status: portico; hit\r\n\r\nhello");
        one.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void aPreEncodedHeadWithItsBodyInPartsWritesWhatNettyWrites() {
        String requests = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        Consumer<EmbeddedChannel> second = c -> c.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.NOT_FOUND, Unpooled.copiedBuffer("nope", StandardCharsets.US_ASCII)));
        String ours = exchange(new Http1ServerCodec(new HttpDecoderConfig(), 64), requests, c -> {
            c.writeOutbound(new HitHead.Response(HttpResponseStatus.OK, perHit(), PREFIX, false),
                    new DefaultHttpContent(Unpooled.copiedBuffer("he", StandardCharsets.US_ASCII)),
                    new DefaultHttpContent(Unpooled.copiedBuffer("llo", StandardCharsets.US_ASCII)),
                    LastHttpContent.EMPTY_LAST_CONTENT);
            second.accept(c);
        });
        String netty = exchange(new HttpServerCodec(), requests, c -> {
            c.writeOutbound(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, allFields()),
                    new DefaultHttpContent(Unpooled.copiedBuffer("he", StandardCharsets.US_ASCII)),
                    new DefaultHttpContent(Unpooled.copiedBuffer("llo", StandardCharsets.US_ASCII)),
                    LastHttpContent.EMPTY_LAST_CONTENT);
            second.accept(c);
        });
        assertThat(ours).isEqualTo(netty).endsWith("\r\n\r\nhelloHTTP/1.1 404 Not Found\r\n\r\nnope");
    }

    /**
     * A hit's stored fields come out as the long way's Netty encoder writes them, a route rule's
     * value with a character past Latin-1 included (Netty writes '?' for it).
     */
    @Test
    void encodedFieldsAreTheBytesNettyWritesForAnyCharacter() {
        HttpHeaders fields = new DefaultHttpHeaders(false).add("Content-Length", "0")
                .add("X-Note", "caf\u00e9 \u20ac5").add("X-Other", "\u0100\uffff");
        String reference = exchange(new HttpServerCodec(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                c -> c.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.EMPTY_BUFFER, fields, new DefaultHttpHeaders())));
        assertThat("HTTP/1.1 200 OK\r\n" + new String(HitHead.encode(fields), StandardCharsets.ISO_8859_1) + "\r\n")
                .isEqualTo(reference).contains("caf\u00e9 ?5");
    }

    @Test
    void aHeadRequestGetsNoBodyAndTheNextResponseItsOwn() {
        String requests = "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        Consumer<EmbeddedChannel> respond = c -> {
            c.writeOutbound(new HitHead.FullResponse(HttpResponseStatus.OK,
                    Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII), perHit(), PREFIX, false));
            c.writeOutbound(new HitHead.FullResponse(HttpResponseStatus.OK,
                    Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII), perHit(), PREFIX, false));
        };
        String ours = exchange(new Http1ServerCodec(new HttpDecoderConfig(), 64), requests, respond);
        String head = "HTTP/1.1 200 OK\r\n" + new String(PREFIX, StandardCharsets.ISO_8859_1)
                + "age: 3\r\nx-request-id: r1\r\ncache-status: portico; hit\r\n\r\n";
        assertThat(ours).isEqualTo(head + head + "hello");
    }

    @Test
    void statusLinesAreNettysForEveryVersionAndReason() {
        List<DefaultHttpResponse> responses = List.of(
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK),
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(299)),
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(200, "Fine")),
                new DefaultHttpResponse(HttpVersion.HTTP_1_0, HttpResponseStatus.NOT_FOUND),
                new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_GATEWAY));
        for (DefaultHttpResponse r : responses) {
            String request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
            Consumer<EmbeddedChannel> respond = c -> {
                DefaultHttpResponse copy = new DefaultHttpResponse(r.protocolVersion(), r.status());
                copy.headers().set("content-length", "0");
                c.writeOutbound(copy, LastHttpContent.EMPTY_LAST_CONTENT);
            };
            assertThat(exchange(new Http1ServerCodec(new HttpDecoderConfig(), 64), request, respond))
                    .isEqualTo(exchange(new HttpServerCodec(), request, respond));
        }
    }

    @Test
    void pastThePipelineDepthTheConnectionFailsAndTheRestIsDropped() {
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerCodec(new HttpDecoderConfig(), 2));
        String three = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3);
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.copiedBuffer(three, StandardCharsets.ISO_8859_1)))
                .hasRootCauseInstanceOf(IllegalStateException.class);
        int requests = 0;
        Object in;
        while ((in = ch.readInbound()) != null) {
            if (in instanceof HttpRequest) {
                requests++;
            }
            ReferenceCountUtil.release(in);
        }
        assertThat(requests).isEqualTo(2);
        ch.finishAndReleaseAll();
    }
}
