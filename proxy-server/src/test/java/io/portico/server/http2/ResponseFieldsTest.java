package io.portico.server.http2;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.portico.http.HopByHopHeaders;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A response head's fields on their way to an HTTP/2 client: what the client's HPACK decoder gets. */
class ResponseFieldsTest {

    private static HttpResponse response(String... fields) {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND);
        for (int i = 0; i < fields.length; i += 2) {
            r.headers().add(fields[i], fields[i + 1]);
        }
        return r;
    }

    private static List<String> lines(Http2Headers headers) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            out.add(e.getKey() + ": " + e.getValue());
        }
        return out;
    }

    @Test
    void namesGoToLowerCaseInOrderWithTheStatusFirst() {
        Http2Headers h = ResponseFields.toHttp2(response(
                "Server", "origin/1.0", "Content-Type", "text/plain", "X-Custom-Thing", "a",
                "set-cookie", "a=1", "Set-Cookie", "b=2", "ETag", "\"x\""));
        assertThat(lines(h)).containsExactly(":status: 404", "server: origin/1.0", "content-type: text/plain",
                "x-custom-thing: a", "set-cookie: a=1", "set-cookie: b=2", "etag: \"x\"");
    }

    @Test
    void aCommonNameIsNettysConstantAndNotACopy() {
        Http2Headers h = ResponseFields.toHttp2(response("Content-Length", "6", "X-Request-Id", "r1"));
        List<CharSequence> names = new ArrayList<>(h.names());
        Object contentLength = names.get(names.indexOf(HttpHeaderNames.CONTENT_LENGTH));
        assertThat(contentLength).isSameAs(HttpHeaderNames.CONTENT_LENGTH);
        assertThat((Object) ResponseFields.lowerCase("CONTENT-LENGTH")).isSameAs(HttpHeaderNames.CONTENT_LENGTH);
        assertThat((Object) ResponseFields.lowerCase(new AsciiString("Vary"))).isSameAs(HttpHeaderNames.VARY);
        assertThat((Object) ResponseFields.lowerCase("X-Other")).isEqualTo(AsciiString.of("x-other"));
    }

    @Test
    void connectionSpecificFieldsAreDropped() {
        Http2Headers h = ResponseFields.toHttp2(response(
                "Connection", "close", "Keep-Alive", "timeout=5", "Proxy-Connection", "keep-alive",
                "Transfer-Encoding", "chunked", "Upgrade", "h2c", "TE", "trailers", "Host", "a.test",
                "Content-Type", "text/html"));
        assertThat(lines(h)).containsExactly(":status: 404", "content-type: text/html");
    }

    @Test
    void fieldsAConnectionHeaderNominatesAreDroppedToo() {
        HttpResponse r = response("Connection", "close, X-Hop", "X-Hop", "1", "X-Kept", "2");
        assertThat(HopByHopHeaders.namesOtherOptions(r.headers())).isTrue();
        assertThat(lines(ResponseFields.toHttp2(r))).containsExactly(":status: 404", "x-kept: 2");
        assertThat(HopByHopHeaders.namesOtherOptions(response("Connection", "Close , keep-alive").headers())).isFalse();
    }

    @Test
    void theSameFieldsAsNettysConversionForAProxiedHead() {
        HttpResponse r = response("Server", "nginx/1.22.1", "Date", "Tue, 24 Nov 2026 16:14:19 GMT",
                "Content-Type", "text/plain", "Content-Length", "6", "Connection", "close",
                "via", "1.1 portico", "x-request-id", "d2ee14501cad7b2ee5e79c6fb0bae737");
        assertThat(lines(ResponseFields.toHttp2(r))).isEqualTo(lines(HttpConversionUtil.toHttp2Headers(r, false)));
    }

    @Test
    void trailersKeepTheirFieldsWithoutAStatus() {
        HttpHeaders trailers = new DefaultHttpHeaders().add("Grpc-Status", "0").add("X-Checksum", "abc");
        assertThat(lines(ResponseFields.trailersToHttp2(trailers)))
                .containsExactly("grpc-status: 0", "x-checksum: abc");
    }
}
