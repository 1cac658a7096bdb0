package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class CachePolicyTest {

    private static final long NOW = 1_700_000_000_000L;
    private static final CacheRules RULES = CacheRules.DEFAULT;

    private static HttpHeaders h(String... pairs) {
        HttpHeaders headers = new DefaultHttpHeaders();
        for (int i = 0; i < pairs.length; i += 2) {
            headers.add(pairs[i], pairs[i + 1]);
        }
        return headers;
    }

    private static String why(HttpHeaders request, int status, HttpHeaders response) {
        return why(HttpMethod.GET, request, status, response, RULES);
    }

    private static String why(HttpMethod m, HttpHeaders request, int status, HttpHeaders response, CacheRules rules) {
        return CachePolicy.notStorable(m, request, CacheControl.of(request), status, response, CacheControl.of(response), rules);
    }

    @Test
    void storesGetWithExplicitOrHeuristicFreshness() {
        assertThat(why(h(), 200, h("Cache-Control", "max-age=60"))).isNull();
        assertThat(why(h(), 200, h())).isNull(); // 200 is heuristically cacheable
        assertThat(why(h(), 301, h())).isNull();
        assertThat(why(h(), 302, h())).isEqualTo("no-freshness");
        assertThat(why(h(), 302, h("Cache-Control", "max-age=10"))).isNull();
        assertThat(why(h(), 307, h("Expires", "Thu, 01 Jan 2099 00:00:00 GMT"))).isNull();
    }

    @Test
    void onlyGetIsStored() {
        for (HttpMethod m : new HttpMethod[] {HttpMethod.HEAD, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE}) {
            assertThat(why(m, h(), 200, h("Cache-Control", "max-age=60"), RULES)).isEqualTo("method");
        }
    }

    @Test
    void partialAndNotModifiedAndInterimResponsesAreNotStored() {
        assertThat(why(h(), 206, h("Cache-Control", "max-age=60"))).isEqualTo("status");
        assertThat(why(h(), 304, h("Cache-Control", "max-age=60"))).isEqualTo("status");
        assertThat(why(h(), 103, h())).isEqualTo("status");
    }

    @Test
    void noStoreAndPrivateAreRespected() {
        assertThat(why(h(), 200, h("Cache-Control", "no-store"))).isEqualTo("no-store");
        assertThat(why(h("Cache-Control", "no-store"), 200, h("Cache-Control", "max-age=60"))).isEqualTo("request-no-store");
        assertThat(why(h(), 200, h("Cache-Control", "private, max-age=60"))).isEqualTo("private");
        assertThat(why(h(), 200, h("Cache-Control", "private=\"X-User\", max-age=60"))).isNull();
        assertThat(why(h(), 200, h("Cache-Control", "no-cache"))).isNull();
    }

    @Test
    void mustUnderstandOverridesNoStoreOnlyForUnderstoodStatuses() {
        assertThat(why(h(), 200, h("Cache-Control", "must-understand, no-store, max-age=60"))).isNull();
        assertThat(why(h(), 299, h("Cache-Control", "must-understand, no-store, max-age=60"))).isEqualTo("must-understand");
    }

    @Test
    void authorizationNeedsPublicMustRevalidateOrSMaxage() {
        HttpHeaders auth = h("Authorization", "Bearer x");
        assertThat(why(auth, 200, h("Cache-Control", "max-age=60"))).isEqualTo("authorization");
        assertThat(why(auth, 200, h("Cache-Control", "public, max-age=60"))).isNull();
        assertThat(why(auth, 200, h("Cache-Control", "must-revalidate, max-age=60"))).isNull();
        assertThat(why(auth, 200, h("Cache-Control", "s-maxage=60"))).isNull();
    }

    @Test
    void setCookieIsStoredOnlyWhenItCanBeLeftOut() {
        assertThat(why(h(), 200, h("Cache-Control", "max-age=60", "Set-Cookie", "s=1"))).isEqualTo("set-cookie");
        assertThat(why(h(), 200, h("Cache-Control", "max-age=60, private=\"Set-Cookie\"", "Set-Cookie", "s=1"))).isNull();
        CacheRules ignore = new CacheRules(Map.of(), null, Set.of("set-cookie"), 1 << 20, Duration.ofDays(1), Duration.ZERO, 4);
        assertThat(why(HttpMethod.GET, h(), 200, h("Cache-Control", "max-age=60", "Set-Cookie", "s=1"), ignore)).isNull();
        assertThat(CachePolicy.fieldsToStrip(CacheControl.NONE, ignore)).contains("set-cookie");
    }

    @Test
    void errorsAreStoredOnlyWhenARuleNamesTheirStatus() {
        assertThat(why(h(), 404, h("Cache-Control", "max-age=60"))).isEqualTo("error-status");
        assertThat(why(h(), 503, h("Cache-Control", "max-age=60"))).isEqualTo("error-status");
        CacheRules rules = new CacheRules(Map.of(404, Duration.ofMinutes(1)), Duration.ofMinutes(5), Set.of(), 1 << 20,
                Duration.ofDays(1), Duration.ZERO, 4);
        assertThat(why(HttpMethod.GET, h(), 404, h(), rules)).isNull();
        assertThat(why(HttpMethod.GET, h(), 500, h(), rules)).isEqualTo("error-status");
    }

    @Test
    void varyStarIsNeverStored() {
        assertThat(why(h(), 200, h("Cache-Control", "max-age=60", "Vary", "Accept, *"))).isEqualTo("vary-star");
    }

    @Test
    void lifetimePrefersSMaxageThenMaxAgeThenExpires() {
        HttpHeaders r = h("Cache-Control", "max-age=60, s-maxage=120", "Expires", HttpDates.format(NOW + 999_000),
                "Date", HttpDates.format(NOW));
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), RULES, NOW)).isEqualTo(120_000);
        r = h("Cache-Control", "max-age=60", "Expires", HttpDates.format(NOW + 999_000), "Date", HttpDates.format(NOW));
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), RULES, NOW)).isEqualTo(60_000);
        r = h("Expires", HttpDates.format(NOW + 30_000), "Date", HttpDates.format(NOW));
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), RULES, NOW + 5000)).isEqualTo(30_000);
    }

    @Test
    void invalidExpiresMeansStale() {
        HttpHeaders r = h("Expires", "0", "Last-Modified", HttpDates.format(NOW - 100_000_000));
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), RULES, NOW)).isZero();
        HttpHeaders two = h("Expires", HttpDates.format(NOW + 60_000), "Expires", HttpDates.format(NOW + 90_000));
        assertThat(CachePolicy.freshnessLifetime(200, two, CacheControl.of(two), RULES, NOW)).isZero();
    }

    @Test
    void heuristicIsATenthOfTheTimeSinceLastModifiedCapped() {
        HttpHeaders r = h("Date", HttpDates.format(NOW), "Last-Modified", HttpDates.format(NOW - 10 * 3600_000L));
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), RULES, NOW)).isEqualTo(3600_000L);
        HttpHeaders old = h("Date", HttpDates.format(NOW), "Last-Modified", HttpDates.format(NOW - 365L * 86400_000L));
        assertThat(CachePolicy.freshnessLifetime(200, old, CacheControl.of(old), RULES, NOW)).isEqualTo(86400_000L);
        // 302 has no heuristic lifetime.
        assertThat(CachePolicy.freshnessLifetime(302, r, CacheControl.of(r), RULES, NOW)).isZero();
        assertThat(CachePolicy.freshnessLifetime(200, h(), CacheControl.NONE, RULES, NOW)).isZero();
    }

    @Test
    void ruleTtlAppliesWhenOriginIsSilentOrIgnored() {
        CacheRules rules = new CacheRules(Map.of(200, Duration.ofMinutes(10)), null, Set.of("cache-control"), 1 << 20,
                Duration.ofDays(1), Duration.ZERO, 4);
        HttpHeaders r = h("Cache-Control", "max-age=5");
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), rules, NOW)).isEqualTo(600_000);
        assertThat(CachePolicy.freshnessLifetime(200, r, CacheControl.of(r), new CacheRules(Map.of(200, Duration.ofMinutes(10)),
                null, Set.of(), 1 << 20, Duration.ofDays(1), Duration.ZERO, 4), NOW)).isEqualTo(5_000);
    }

    @Test
    void ageCalculationFollowsSection423() {
        // Sent at t, answered 2 s later, Date 10 s before arrival, Age 3: apparent 10 > 3 + 2.
        HttpHeaders r = h("Date", HttpDates.format(NOW - 10_000), "Age", "3");
        assertThat(CachePolicy.correctedInitialAge(r, NOW - 2000, NOW)).isEqualTo(10_000);
        // Date in the future of our clock: apparent age 0, corrected age value wins.
        r = h("Date", HttpDates.format(NOW + 50_000), "Age", "30");
        assertThat(CachePolicy.correctedInitialAge(r, NOW - 2000, NOW)).isEqualTo(32_000);
        StoredMeta meta = StoredMeta.of(200, h("Cache-Control", "max-age=100", "Age", "30"), RULES, NOW, NOW);
        assertThat(meta.currentAge(NOW + 20_000)).isEqualTo(50_000);
        assertThat(meta.ttl(NOW + 20_000)).isEqualTo(50_000);
    }
}
