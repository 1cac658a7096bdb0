package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConditionalsTest {

    private static final long T = 1_700_000_000_000L;
    private final HttpHeaders stored = new DefaultHttpHeaders().add("ETag", "W/\"v1\"")
            .add("Last-Modified", HttpDates.format(T)).add("Date", HttpDates.format(T + 5000));

    @Test
    void ifNoneMatchUsesWeakComparison() {
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-None-Match", "\"v1\""), stored)).isTrue();
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-None-Match", "\"x\", W/\"v1\""), stored)).isTrue();
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-None-Match", "\"v2\""), stored)).isFalse();
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-None-Match", "*"), stored)).isTrue();
    }

    @Test
    void ifNoneMatchWinsOverIfModifiedSince() {
        HttpHeaders req = new DefaultHttpHeaders().add("If-None-Match", "\"v2\"")
                .add("If-Modified-Since", HttpDates.format(T + 1000));
        assertThat(Conditionals.notModified(req, stored)).isFalse();
    }

    @Test
    void ifModifiedSinceComparesWithLastModified() {
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-Modified-Since", HttpDates.format(T)), stored)).isTrue();
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-Modified-Since", HttpDates.format(T - 1000)), stored)).isFalse();
        assertThat(Conditionals.notModified(new DefaultHttpHeaders().add("If-Modified-Since", "garbage"), stored)).isFalse();
    }

    @Test
    void malformedTagsNeverMatch() {
        assertThat(Conditionals.etagMatches("v1, \"", "\"v1\"")).isFalse();
        assertThat(Conditionals.etagMatches("\"v1\"", "v1")).isFalse();
    }
}
