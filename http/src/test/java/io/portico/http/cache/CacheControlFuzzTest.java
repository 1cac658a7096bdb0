package io.portico.http.cache;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the Cache-Control parser with any field values, one or several lines: nothing throws,
 * and whatever it reads is a lifetime the policy can use (absent, or a non-negative number of
 * seconds) and field lists that are never null. A value the parser cannot make sense of must make
 * a response less cacheable, never more — that part is CachePolicyTest's; here it must not crash.
 *
 * <p>In CI only the seeds under {@code CacheControlFuzzTestInputs/} run. To fuzz:
 * {@code JAZZER_FUZZ=1 mvn -pl http -am test -Dtest=CacheControlFuzzTest -Djazzer.hooks=true
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class CacheControlFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void anyFieldValuesParseIntoSaneDirectives(FuzzedDataProvider data) {
        String first = data.consumeString(512);
        String second = data.consumeRemainingAsString();

        CacheControl one = CacheControl.parse(first);
        saneLifetimes(one);

        HttpHeaders headers = new DefaultHttpHeaders(false);
        headers.add(HttpHeaderNames.CACHE_CONTROL, first);
        headers.add(HttpHeaderNames.CACHE_CONTROL, second);
        CacheControl both = CacheControl.of(headers);
        saneLifetimes(both);
        // A second line can only add directives: what made the first uncacheable stays.
        if (one.noStore()) {
            assertThat(both.noStore()).isTrue();
        }
        if (one.isPrivate()) {
            assertThat(both.isPrivate()).isTrue();
        }
        if (one.noCache()) {
            assertThat(both.noCache()).isTrue();
        }
    }

    private static void saneLifetimes(CacheControl cc) {
        for (long v : new long[] {cc.maxAge(), cc.sMaxAge(), cc.minFresh(), cc.staleWhileRevalidate(),
                cc.staleIfError()}) {
            assertThat(v == CacheControl.ABSENT || v >= 0).as("lifetime %d", v).isTrue();
        }
        long maxStale = cc.maxStale();
        assertThat(maxStale == CacheControl.ABSENT || maxStale >= 0).as("max-stale %d", maxStale).isTrue();
        assertThat(cc.noCacheFields()).isNotNull();
        assertThat(cc.privateFields()).isNotNull();
    }
}
