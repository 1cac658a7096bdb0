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
    @Test
    void a304IdentifiesTheStoredResponseOnlyByItsOwnValidators() {
        HttpHeaders strong = new DefaultHttpHeaders().add("ETag", "\"v1\"").add("Last-Modified", HttpDates.format(T));
        // RFC 9111 section 4.3.4: a strong tag must match strongly, a weak one weakly.
        assertThat(Conditionals.identifiesForUpdate(strong, new DefaultHttpHeaders().add("ETag", "\"v1\""))).isTrue();
        assertThat(Conditionals.identifiesForUpdate(strong, new DefaultHttpHeaders().add("ETag", "\"v2\""))).isFalse();
        assertThat(Conditionals.identifiesForUpdate(strong, new DefaultHttpHeaders().add("ETag", "W/\"v1\""))).isTrue();
        assertThat(Conditionals.identifiesForUpdate(stored, new DefaultHttpHeaders().add("ETag", "\"v1\""))).isFalse();
        assertThat(Conditionals.identifiesForUpdate(stored, new DefaultHttpHeaders().add("ETag", "W/\"v1\""))).isTrue();
        assertThat(Conditionals.identifiesForUpdate(new DefaultHttpHeaders(), new DefaultHttpHeaders().add("ETag", "\"v1\"")))
                .isFalse();
        // Without a tag, a Last-Modified must not contradict the stored one.
        assertThat(Conditionals.identifiesForUpdate(strong,
                new DefaultHttpHeaders().add("Last-Modified", HttpDates.format(T)))).isTrue();
        assertThat(Conditionals.identifiesForUpdate(strong,
                new DefaultHttpHeaders().add("Last-Modified", HttpDates.format(T + 60_000)))).isFalse();
        // A 304 without validators updates the response it was asked about.
        assertThat(Conditionals.identifiesForUpdate(strong, new DefaultHttpHeaders())).isTrue();
    }
}
