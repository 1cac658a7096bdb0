package io.portico.server.http2;

import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The request fields of HTTP/2 and HTTP/3 on their way to an HTTP/1.1 upstream: here, trailer sections. */
class RequestFieldsTest {

    @Test
    void fieldsATrailerMustNotCarryAreDroppedAndTheRestKept() {
        Http2Headers fields = new DefaultHttp2Headers()
                .add("x-checksum", "abc")
                .add("content-length", "5")
                .add("host", "elsewhere.test")
                .add("trailer", "x-checksum")
                .add("te", "trailers")
                .add("authorization", "Bearer t")
                .add("cookie", "a=1")
                .add("if-match", "\"e\"")
                .add("content-type", "text/plain")
                .add("server-timing", "db;dur=53");
        LastHttpContent last = RequestFields.trailers(fields);
        assertThat(last).isNotNull();
        assertThat(last.trailingHeaders().names()).containsExactlyInAnyOrder("x-checksum", "server-timing");
        assertThat(last.trailingHeaders().get("x-checksum")).isEqualTo("abc");
    }

    @Test
    void aConnectionSpecificFieldOrAPseudoHeaderInTrailersIsStillMalformed() {
        assertThat(RequestFields.trailers(new DefaultHttp2Headers().add("connection", "close"))).isNull();
        assertThat(RequestFields.trailers(new DefaultHttp2Headers().add("transfer-encoding", "chunked"))).isNull();
        assertThat(RequestFields.trailers(new DefaultHttp2Headers().add("te", "gzip"))).isNull();
        assertThat(RequestFields.trailers(new DefaultHttp2Headers(false).add(":path", "/"))).isNull();
    }
}
