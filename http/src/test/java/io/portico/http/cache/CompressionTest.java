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
}
