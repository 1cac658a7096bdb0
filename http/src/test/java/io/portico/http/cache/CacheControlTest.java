package io.portico.http.cache;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CacheControlTest {

    @Test
    void readsLifetimesCaseInsensitivelyWithTokenOrQuotedValues() {
        CacheControl cc = CacheControl.parse("Max-Age=60, s-maxage=\"120\"");
        assertThat(cc.maxAge()).isEqualTo(60);
        assertThat(cc.sMaxAge()).isEqualTo(120);
        assertThat(cc.invalidLifetime()).isFalse();
    }

    @Test
    void combinesSeveralFieldLines() {
        HttpHeaders h = new DefaultHttpHeaders().add("Cache-Control", "public").add("Cache-Control", "max-age=5, immutable");
        CacheControl cc = CacheControl.of(h);
        assertThat(cc.isPublic()).isTrue();
        assertThat(cc.maxAge()).isEqualTo(5);
        assertThat(cc.immutable()).isTrue();
    }

    @Test
    void garbledOrConflictingMaxAgeMakesTheResponseStale() {
        assertThat(CacheControl.parse("max-age=abc").invalidLifetime()).isTrue();
        assertThat(CacheControl.parse("max-age=").invalidLifetime()).isTrue();
        assertThat(CacheControl.parse("max-age=-5").invalidLifetime()).isTrue();
        assertThat(CacheControl.parse("max-age=60, max-age=3600").invalidLifetime()).isTrue();
        assertThat(CacheControl.parse("max-age=60, max-age=60").invalidLifetime()).isFalse();
    }

    @Test
    void hugeDeltaSecondsAreCappedAtTwoToTheThirtyFirst() {
        assertThat(CacheControl.parse("max-age=99999999999999999999").maxAge()).isEqualTo(2147483648L);
    }

    @Test
    void noCacheAndPrivateWithFieldNamesAreQualifiedNotUnqualified() {
        CacheControl cc = CacheControl.parse("no-cache=\"Set-Cookie, X-Token\", private=\"X-User\"");
        assertThat(cc.noCache()).isFalse();
        assertThat(cc.noCacheFields()).containsExactly("set-cookie", "x-token");
        assertThat(cc.isPrivate()).isFalse();
        assertThat(cc.privateFields()).containsExactly("x-user");
        CacheControl plain = CacheControl.parse("no-cache, private");
        assertThat(plain.noCache()).isTrue();
        assertThat(plain.isPrivate()).isTrue();
    }

    @Test
    void quotedCommasDoNotSplitDirectives() {
        CacheControl cc = CacheControl.parse("private=\"a,b\", max-age=7");
        assertThat(cc.privateFields()).containsExactly("a", "b");
        assertThat(cc.maxAge()).isEqualTo(7);
    }

    @Test
    void requestDirectives() {
        CacheControl cc = CacheControl.parse("max-stale, min-fresh=10, only-if-cached, no-store");
        assertThat(cc.maxStale()).isEqualTo(CacheControl.ANY);
        assertThat(cc.minFresh()).isEqualTo(10);
        assertThat(cc.onlyIfCached()).isTrue();
        assertThat(cc.noStore()).isTrue();
        assertThat(CacheControl.parse("max-stale=30").maxStale()).isEqualTo(30);
        assertThat(CacheControl.parse("max-stale=zz").maxStale()).isZero();
    }

    @Test
    void staleExtensionsIgnoreGarbageAndTakeTheSmallerDuplicate() {
        CacheControl cc = CacheControl.parse("stale-while-revalidate=30, stale-if-error=x, stale-while-revalidate=10");
        assertThat(cc.staleWhileRevalidate()).isEqualTo(10);
        assertThat(cc.staleIfError()).isEqualTo(CacheControl.ABSENT);
    }

    @Test
    void garbageAndUnknownDirectivesAreHarmless() {
        CacheControl cc = CacheControl.parse(",,, =, foo=bar, \"x\", must-understand, no-store");
        assertThat(cc.mustUnderstand()).isTrue();
        assertThat(cc.noStore()).isTrue();
        assertThat(cc.maxAge()).isEqualTo(CacheControl.ABSENT);
        assertThat(CacheControl.parse("max-age=\"5").maxAge()).isEqualTo(5);
    }
}
