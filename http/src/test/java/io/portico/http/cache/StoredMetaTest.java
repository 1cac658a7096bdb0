package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StoredMetaTest {

    private static final long T = 1_700_000_000_000L;

    private static StoredMeta stored(String cacheControl) {
        HttpHeaders h = new DefaultHttpHeaders().add("Cache-Control", cacheControl).add("Date", HttpDates.format(T));
        return StoredMeta.of(200, h, CacheRules.DEFAULT, T, T);
    }

    private static Usability use(StoredMeta m, String requestCc, long at) {
        return m.usability(CacheControl.parse(requestCc), false, at);
    }

    @Test
    void freshUntilLifetimeEnds() {
        StoredMeta m = stored("max-age=60");
        assertThat(use(m, "", T + 59_000)).isEqualTo(Usability.FRESH);
        assertThat(use(m, "", T + 60_000)).isEqualTo(Usability.NEEDS_VALIDATION);
    }

    @Test
    void requestNoCacheAndPragmaForceValidation() {
        StoredMeta m = stored("max-age=60");
        assertThat(use(m, "no-cache", T)).isEqualTo(Usability.NEEDS_VALIDATION);
        assertThat(m.usability(CacheControl.NONE, true, T)).isEqualTo(Usability.NEEDS_VALIDATION);
    }

    @Test
    void responseNoCacheAlwaysValidates() {
        assertThat(use(stored("no-cache, max-age=60"), "", T)).isEqualTo(Usability.NEEDS_VALIDATION);
    }

    @Test
    void requestMaxAgeAndMinFreshNarrowFreshness() {
        StoredMeta m = stored("max-age=60");
        assertThat(use(m, "max-age=10", T + 11_000)).isEqualTo(Usability.NEEDS_VALIDATION);
        assertThat(use(m, "max-age=10", T + 9_000)).isEqualTo(Usability.FRESH);
        assertThat(use(m, "min-fresh=30", T + 31_000)).isEqualTo(Usability.NEEDS_VALIDATION);
        assertThat(use(m, "min-fresh=30", T + 29_000)).isEqualTo(Usability.FRESH);
    }

    @Test
    void maxStaleAcceptsStaleUnlessTheOriginForbids() {
        assertThat(use(stored("max-age=60"), "max-stale=30", T + 80_000)).isEqualTo(Usability.STALE_ACCEPTED);
        assertThat(use(stored("max-age=60"), "max-stale=30", T + 100_000)).isEqualTo(Usability.NEEDS_VALIDATION);
        assertThat(use(stored("max-age=60"), "max-stale", T + 10_000_000)).isEqualTo(Usability.STALE_ACCEPTED);
        assertThat(use(stored("max-age=60, must-revalidate"), "max-stale", T + 61_000)).isEqualTo(Usability.NEEDS_VALIDATION);
        assertThat(use(stored("s-maxage=60"), "max-stale", T + 61_000)).isEqualTo(Usability.NEEDS_VALIDATION);
        assertThat(use(stored("max-age=60, proxy-revalidate"), "max-stale", T + 61_000)).isEqualTo(Usability.NEEDS_VALIDATION);
    }

    @Test
    void staleWhileRevalidateWindow() {
        StoredMeta m = stored("max-age=60, stale-while-revalidate=30");
        assertThat(use(m, "", T + 70_000)).isEqualTo(Usability.STALE_WHILE_REVALIDATE);
        assertThat(use(m, "", T + 91_000)).isEqualTo(Usability.NEEDS_VALIDATION);
    }

    @Test
    void staleIfErrorWindowGraceAndMustRevalidate() {
        StoredMeta m = stored("max-age=60, stale-if-error=30");
        assertThat(m.usableOnError(CacheControl.NONE, 0, T + 80_000)).isTrue();
        assertThat(m.usableOnError(CacheControl.NONE, 0, T + 100_000)).isFalse();
        assertThat(m.usableOnError(CacheControl.NONE, 3600_000, T + 100_000)).isTrue();
        assertThat(m.usableOnError(CacheControl.parse("stale-if-error=100"), 0, T + 100_000)).isTrue();
        assertThat(stored("max-age=60, must-revalidate").usableOnError(CacheControl.NONE, 3600_000, T + 61_000)).isFalse();
    }
}
