package io.portico.server.upstream;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The translation between an exchange's HTTP/1.x objects and one HTTP/2 stream's frames. */
class Http2ClientStreamCodecTest {

    private static EmbeddedChannel channel(boolean tls) {
        return new EmbeddedChannel(new Http2ClientStreamCodec(tls));
    }

    private static HttpRequest get(String uri) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
        r.headers().set("Host", "example.test:8443")
                .set("Connection", "keep-alive, X-Hop")
                .set("X-Hop", "1")
                .set("Keep-Alive", "timeout=5")
                .set("Cookie", "a=1; b=2")
                .set("TE", "trailers")
                .set("X-Kept", "yes");
        return r;
    }

    @Test
    void aBodylessRequestIsOneHeadersFrameEndingTheStream() {
        EmbeddedChannel ch = channel(true);
        ch.writeOutbound(get("/p?q=1"), LastHttpContent.EMPTY_LAST_CONTENT);
        Http2HeadersFrame frame = ch.readOutbound();
        Http2Headers h = frame.headers();
        assertThat(frame.isEndStream()).isTrue();
        assertThat(h.method().toString()).isEqualTo("GET");
        assertThat(h.path().toString()).isEqualTo("/p?q=1");
        assertThat(h.scheme().toString()).isEqualTo("https");
        assertThat(h.authority().toString()).isEqualTo("example.test:8443");
        assertThat(h.getAll("cookie")).extracting(CharSequence::toString).containsExactly("a=1", "b=2");
        assertThat(h.get("te").toString()).isEqualTo("trailers");
        assertThat(h.get("x-kept").toString()).isEqualTo("yes");
        assertThat(h.contains("host")).isFalse();
        assertThat(h.contains("connection")).isFalse();
        assertThat(h.contains("keep-alive")).isFalse();
        assertThat(h.contains("x-hop")).isFalse();
        assertThat((Object) ch.readOutbound()).isNull();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aChunkedRequestSendsDataThenItsTrailersAsTheLastHeaders() {
        EmbeddedChannel ch = channel(false);
        HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/up");
        post.headers().set("Host", "a").set("Transfer-Encoding", "chunked");
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.copiedBuffer("de", StandardCharsets.US_ASCII));
        last.trailingHeaders().set("X-Digest", "abc");
        ch.writeOutbound(post, new DefaultHttpContent(Unpooled.copiedBuffer("abc", StandardCharsets.US_ASCII)), last);
        Http2HeadersFrame head = ch.readOutbound();
        assertThat(head.isEndStream()).isFalse();
        assertThat(head.headers().scheme().toString()).isEqualTo("http");
        assertThat(head.headers().contains("transfer-encoding")).isFalse();
        Http2DataFrame first = ch.readOutbound();
        Http2DataFrame second = ch.readOutbound();
        assertThat(first.content().toString(StandardCharsets.US_ASCII)).isEqualTo("abc");
        assertThat(second.content().toString(StandardCharsets.US_ASCII)).isEqualTo("de");
        assertThat(second.isEndStream()).isFalse();
        first.release();
        second.release();
        Http2HeadersFrame trailers = ch.readOutbound();
        assertThat(trailers.isEndStream()).isTrue();
        assertThat(trailers.headers().get("x-digest").toString()).isEqualTo("abc");
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void informationalThenFinalResponseWithItsBody() {
        EmbeddedChannel ch = sent("GET");
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("103").add("link", "</a.css>")));
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").add("content-length", "5")));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII), true));
        HttpResponse hints = ch.readInbound();
        assertThat(hints.status().code()).isEqualTo(103);
        assertThat(hints.headers().get("link")).isEqualTo("</a.css>");
        assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
        HttpResponse ok = ch.readInbound();
        assertThat(ok.status().code()).isEqualTo(200);
        assertThat(ok.decoderResult().isSuccess()).isTrue();
        LastHttpContent body = ch.readInbound();
        assertThat(body.decoderResult().isSuccess()).isTrue();
        assertThat(body.content().toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
        body.release();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void moreDataThanTheContentLengthFailsTheBody() {
        EmbeddedChannel ch = sent("GET");
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").add("content-length", "3")));
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII), false));
        HttpResponse ok = ch.readInbound();
        assertThat(ok.decoderResult().isSuccess()).isTrue();
        HttpContent bad = ch.readInbound();
        assertThat(bad).isInstanceOf(LastHttpContent.class);
        assertThat(bad.decoderResult().isFailure()).isTrue();
        ReferenceCountUtil.release(bad);
        // Whatever follows a failure is dropped.
        ch.writeInbound(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII), true));
        assertThat((Object) ch.readInbound()).isNull();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aHeadResponseMayAnnounceALengthWithoutData() {
        EmbeddedChannel ch = sent("HEAD");
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").add("content-length", "10"), true));
        HttpResponse ok = ch.readInbound();
        assertThat(ok.decoderResult().isSuccess()).isTrue();
        assertThat(ok.headers().get("content-length")).isEqualTo("10");
        assertThat((Object) ch.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void malformedResponsesFail() {
        Http2Headers[] heads = {
                new DefaultHttp2Headers().add("x", "no status"),
                new DefaultHttp2Headers().status("2x0"),
                new DefaultHttp2Headers().status("101"),
                new DefaultHttp2Headers().status("200").add("content-length", "-1"),
                new DefaultHttp2Headers().status("200").path("/pseudo-in-a-response"),
        };
        for (Http2Headers h : heads) {
            EmbeddedChannel ch = sent("GET");
            ch.writeInbound(new DefaultHttp2HeadersFrame(h, false));
            HttpResponse r = ch.readInbound();
            assertThat(r.decoderResult().isFailure()).as(h.toString()).isTrue();
            assertThat(ch.finishAndReleaseAll()).isFalse();
        }
        EmbeddedChannel ch = sent("GET");
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("103"), true));
        assertThat(((HttpResponse) ch.readInbound()).decoderResult().isFailure()).as("1xx ending the stream").isTrue();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void trailersWithAPseudoHeaderFailTheBody() {
        EmbeddedChannel ch = sent("GET");
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
        ch.writeInbound(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").add("x-t", "1"), true));
        assertThat(((HttpResponse) ch.readInbound()).decoderResult().isSuccess()).isTrue();
        LastHttpContent bad = ch.readInbound();
        assertThat(bad.decoderResult().isFailure()).isTrue();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    /** A channel whose request ({@code method}) went out already, so the response side knows it. */
    private static EmbeddedChannel sent(String method) {
        EmbeddedChannel ch = channel(false);
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), "/");
        r.headers().set("Host", "a");
        ch.writeOutbound(r);
        ReferenceCountUtil.release(ch.readOutbound());
        return ch;
    }
}
