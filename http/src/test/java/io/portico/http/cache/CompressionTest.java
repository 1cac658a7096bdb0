package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CompressionTest {

    private static boolean accepts(String acceptEncoding) {
        return Compression.acceptsGzip(new DefaultHttpHeaders().add("Accept-Encoding", acceptEncoding));
    }

    @Test
    void acceptEncodingIsReadWithQualities() {
        assertThat(accepts("gzip, deflate, br")).isTrue();
        assertThat(accepts("br;q=1.0, GZIP;q=0.5")).isTrue();
        assertThat(accepts("gzip;q=0")).isFalse();
        assertThat(accepts("gzip;q=0.000")).isFalse();
        assertThat(accepts("*")).isTrue();
        assertThat(accepts("*;q=0")).isFalse();
        assertThat(accepts("identity")).isFalse();
        assertThat(Compression.acceptsGzip(new DefaultHttpHeaders())).isFalse();
    }

    @Test
    void onlyUnencodedTransformable200sOfListedTypesAreCompressible() {
        HttpHeaders html = new DefaultHttpHeaders().add("Content-Type", "text/html; charset=utf-8");
        assertThat(Compression.compressibleKind(200, html, Compression.DEFAULT_TYPES)).isTrue();
        assertThat(Compression.compressibleKind(404, html, Compression.DEFAULT_TYPES)).isFalse();
        assertThat(Compression.compressibleKind(200, html.copy().add("Content-Encoding", "br"), Compression.DEFAULT_TYPES)).isFalse();
        assertThat(Compression.compressibleKind(200, html.copy().add("Cache-Control", "no-transform"), Compression.DEFAULT_TYPES)).isFalse();
        assertThat(Compression.compressibleKind(200, new DefaultHttpHeaders().add("Content-Type", "image/png"),
                Compression.DEFAULT_TYPES)).isFalse();
    }

    @Test
    void varyAcceptEncodingIsAddedOnce() {
        HttpHeaders h = new DefaultHttpHeaders().add("Vary", "Accept-Language");
        Compression.addVaryAcceptEncoding(h);
        Compression.addVaryAcceptEncoding(h);
        assertThat(h.getAll("Vary")).containsExactly("Accept-Language", "Accept-Encoding");
    }

    @Test
    void theHigherQualityCodingWinsAndBrotliWinsTies() {
        assertThat(Compression.brotliAvailable()).as("brotli4j's native library loads on this platform").isTrue();
        assertThat(Compression.choose(new DefaultHttpHeaders().add("Accept-Encoding", "gzip, br"))).isEqualTo(Compression.Coding.BR);
        assertThat(Compression.choose(new DefaultHttpHeaders().add("Accept-Encoding", "br;q=0.5, gzip"))).isEqualTo(Compression.Coding.GZIP);
        assertThat(Compression.choose(new DefaultHttpHeaders().add("Accept-Encoding", "gzip"))).isEqualTo(Compression.Coding.GZIP);
        assertThat(Compression.choose(new DefaultHttpHeaders().add("Accept-Encoding", "br;q=0, gzip;q=0"))).isNull();
        assertThat(Compression.choose(new DefaultHttpHeaders().add("Accept-Encoding", "identity"))).isNull();
        assertThat(Compression.choose(new DefaultHttpHeaders())).isNull();
    }
}
