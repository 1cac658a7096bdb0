package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ImmediateEventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class HttpCacheTest {

    private final HttpCache cache = new HttpCache(1 << 20, PooledByteBufAllocator.DEFAULT);

    @AfterEach
    void close() {
        cache.close();
    }

    private CachedResponse fill(String url, String body, HttpHeaders response, HttpHeaders request) {
        StoredMeta meta = StoredMeta.of(200, response, CacheRules.DEFAULT, 0, System.currentTimeMillis());
        CachedResponse o = cache.newObject(url, url, 200, request, meta, HttpCache.tags(response), CacheRules.DEFAULT);
        ByteBuf b = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        assertThat(o.append(b)).isTrue();
        b.release();
        o.complete();
        cache.store(o, 2);
        o.release();
        return o;
    }

    /** Stores a response whose request was sent at purge mark {@code sentAt}; true when it got stored. */
    private boolean fillSentAt(String url, long sentAt, HttpHeaders response) {
        StoredMeta meta = StoredMeta.of(200, response, CacheRules.DEFAULT, 0, System.currentTimeMillis());
        CachedResponse o = cache.newObject(url, url, 200, new DefaultHttpHeaders(), meta, HttpCache.tags(response),
                CacheRules.DEFAULT);
        o.complete();
        cache.store(o, 2, sentAt);
        o.release();
        CachedResponse found = cache.get(url, new DefaultHttpHeaders());
        if (found != null) {
            found.release();
        }
        return found != null;
    }

    @Test
    void aFetchSentBeforeAPurgeThatCoversItIsNotStored() {
        HttpHeaders tagged = new DefaultHttpHeaders().set("Cache-Control", "max-age=60").set("Surrogate-Key", "t");
        long before = cache.purgeMark();
        cache.purgeUrl("http://h/other");
        assertThat(fillSentAt("http://h/a", before, tagged)).as("an unrelated purge").isTrue();
        before = cache.purgeMark();
        cache.purgeTag("t");
        assertThat(fillSentAt("http://h/b", before, tagged)).as("purged by its tag").isFalse();
        assertThat(fillSentAt("http://h/b", cache.purgeMark(), tagged)).as("sent after the purge").isTrue();
        before = cache.purgeMark();
        cache.purgePrefix("http://h/c/");
        assertThat(fillSentAt("http://h/c/1", before, tagged)).as("purged by prefix").isFalse();
        assertThat(fillSentAt("http://h/d", before, tagged)).as("outside the prefix").isTrue();
    }

    @Test
    void pastTheLogsBoundAFetchOlderThanThePurgesItForgotIsNotStored() {
        HttpHeaders fresh = new DefaultHttpHeaders().set("Cache-Control", "max-age=60");
        long old = cache.purgeMark();
        for (int i = 0; i <= HttpCache.MAX_PURGE_LOG; i++) {
            cache.purgeUrl("http://h/unrelated/" + i);
        }
        // Whether one of the forgotten purges covered it is not known any more: not stored.
        assertThat(fillSentAt("http://h/a", old, fresh)).isFalse();
        long recent = cache.purgeMark();
        cache.purgeUrl("http://h/unrelated/last");
        assertThat(fillSentAt("http://h/a", recent, fresh)).isTrue();
    }

    private static String body(CachedResponse o) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < o.chunkCount(); i++) {
            sb.append(o.chunk(i).toString(StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    @Test
    void storedObjectIsFoundAndItsBytesOutliveAPurgeWhileAReaderHoldsIt() {
        fill("http://h/a", "hello", new DefaultHttpHeaders(), new DefaultHttpHeaders());
        CachedResponse reader = cache.get("http://h/a", new DefaultHttpHeaders());
        assertThat(reader).isNotNull();
        assertThat(cache.purgeUrl("http://h/a")).isEqualTo(1);
        assertThat(cache.get("http://h/a", new DefaultHttpHeaders())).isNull();
        // Evicted, yet the reader still streams valid bytes until it lets go.
        assertThat(body(reader)).isEqualTo("hello");
        assertThat(reader.release()).isTrue();
    }

    @Test
    void evictionByWeightReleasesBodies() {
        String big = "x".repeat(300_000);
        for (int i = 0; i < 10; i++) {
            fill("http://h/" + i, big, new DefaultHttpHeaders(), new DefaultHttpHeaders());
        }
        cache.statsCounters();
        assertThat(cache.stats().storedBytes()).isLessThanOrEqualTo(1 << 20);
        assertThat(cache.stats().evicted()).isGreaterThan(0);
    }

    @Test
    void variantsAreSelectedByNormalisedValuesAndCapped() {
        HttpHeaders vary = new DefaultHttpHeaders().add("Vary", "Accept-Language");
        fill("http://h/v", "en", vary, new DefaultHttpHeaders().add("Accept-Language", "en"));
        fill("http://h/v", "de", vary, new DefaultHttpHeaders().add("Accept-Language", "de"));
        CachedResponse en = cache.get("http://h/v", new DefaultHttpHeaders().add("Accept-Language", "EN"));
        assertThat(body(en)).isEqualTo("en");
        en.release();
        assertThat(cache.get("http://h/v", new DefaultHttpHeaders().add("Accept-Language", "fr"))).isNull();
        fill("http://h/v", "fr", vary, new DefaultHttpHeaders().add("Accept-Language", "fr"));
        // Cap of 2: the oldest variant (en) went.
        assertThat(cache.get("http://h/v", new DefaultHttpHeaders().add("Accept-Language", "en"))).isNull();
        CachedResponse fr = cache.get("http://h/v", new DefaultHttpHeaders().add("Accept-Language", "fr"));
        assertThat(body(fr)).isEqualTo("fr");
        fr.release();
    }

    @Test
    void aResponseThatStartsToVaryReplacesThePlainOneStoredBefore() {
        fill("http://h/x", "old", new DefaultHttpHeaders().add("Cache-Control", "max-age=600"), new DefaultHttpHeaders());
        HttpHeaders de = new DefaultHttpHeaders().add("Accept-Language", "de");
        fill("http://h/x", "new", new DefaultHttpHeaders().add("Cache-Control", "max-age=600").add("Vary", "Accept-Language"),
                de);
        assertThat(cache.contains("http://h/x")).isFalse();
        // Once the variant is gone too, the older plain response does not come back.
        String variant = HttpCache.variantKey("http://h/x", Vary.selectingValues(List.of("accept-language"), de));
        assertThat(cache.purgeKey(variant)).isTrue();
        assertThat(cache.get("http://h/x", de)).isNull();
        assertThat(cache.get("http://h/x", new DefaultHttpHeaders())).isNull();
        assertThat(cache.stats().objects()).isZero();
    }

    @Test
    void aPlainResponseReplacesTheVariantsStoredBefore() {
        HttpHeaders de = new DefaultHttpHeaders().add("Accept-Language", "de");
        fill("http://h/y", "de", new DefaultHttpHeaders().add("Vary", "Accept-Language"), de);
        fill("http://h/y", "plain", new DefaultHttpHeaders(), new DefaultHttpHeaders());
        CachedResponse r = cache.get("http://h/y", de);
        assertThat(body(r)).isEqualTo("plain");
        r.release();
        assertThat(cache.stats().objects()).isEqualTo(1);
    }

    @Test
    void purgeByPrefixAndTag() {
        fill("http://h/img/1", "1", new DefaultHttpHeaders().add("Surrogate-Key", "img a"), new DefaultHttpHeaders());
        fill("http://h/img/2", "2", new DefaultHttpHeaders().add("Cache-Tag", "img,b"), new DefaultHttpHeaders());
        fill("http://h/css/1", "3", new DefaultHttpHeaders().add("Cache-Tag", "b"), new DefaultHttpHeaders());
        assertThat(cache.purgeTag("b")).isEqualTo(2);
        assertThat(cache.purgeTag("b")).isZero();
        assertThat(cache.purgePrefix("http://h/img/")).isEqualTo(1);
        assertThat(cache.stats().objects()).isZero();
        assertThat(cache.stats().purged()).isEqualTo(3);
    }

    @Test
    void readersOfAnObjectBeingFilledAreWokenAsBytesArrive() throws Exception {
        StoredMeta meta = StoredMeta.of(200, new DefaultHttpHeaders(), CacheRules.DEFAULT, 0, 0);
        CachedResponse o = cache.newObject("k", "u", 200, new DefaultHttpHeaders(), meta, List.of(), CacheRules.DEFAULT);
        EventExecutor loop = new DefaultEventExecutor();
        try {
            CountDownLatch woke = new CountDownLatch(1);
            assertThat(o.awaitMore(0, loop, woke::countDown)).isTrue();
            ByteBuf b = Unpooled.copiedBuffer("abc", StandardCharsets.UTF_8);
            o.append(b);
            b.release();
            assertThat(woke.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(o.awaitMore(0, loop, () -> { })).isFalse();
            CountDownLatch ended = new CountDownLatch(1);
            assertThat(o.awaitMore(1, loop, ended::countDown)).isTrue();
            o.complete();
            assertThat(ended.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(o.awaitMore(1, loop, () -> { })).isFalse();
        } finally {
            o.release();
            loop.shutdownGracefully(0, 0, TimeUnit.SECONDS);
        }
    }

    @Test
    void objectOverTheSizeLimitRefusesBytes() {
        CacheRules small = new CacheRules(java.util.Map.of(), null, java.util.Set.of(), 4, java.time.Duration.ZERO,
                java.time.Duration.ZERO, 1);
        StoredMeta meta = StoredMeta.of(200, new DefaultHttpHeaders(), small, 0, 0);
        CachedResponse o = cache.newObject("k", "u", 200, new DefaultHttpHeaders(), meta, List.of(), small);
        ByteBuf b = Unpooled.copiedBuffer("12345", StandardCharsets.UTF_8);
        assertThat(o.append(b)).isFalse();
        b.release();
        o.fail();
        assertThat(o.release()).isTrue();
    }

    @Test
    void requestsCollapseOntoOneFetchAndReadItsObject() {
        AtomicInteger woken = new AtomicInteger();
        HttpHeaders req = new DefaultHttpHeaders();
        HttpCache.Join lead = cache.join("k", req, ImmediateEventExecutor.INSTANCE, woken::incrementAndGet);
        assertThat(lead.result()).isEqualTo(HttpCache.JoinResult.LEAD);
        HttpCache.Join wait = cache.join("k", req, ImmediateEventExecutor.INSTANCE, woken::incrementAndGet);
        assertThat(wait.result()).isEqualTo(HttpCache.JoinResult.WAIT);
        assertThat(wait.object()).isNull();
        StoredMeta meta = StoredMeta.of(200, new DefaultHttpHeaders(), CacheRules.DEFAULT, 0, 0);
        CachedResponse o = cache.newObject("k", "u", 200, req, meta, List.of(), CacheRules.DEFAULT);
        lead.pending().publish(o);
        assertThat(woken.get()).isEqualTo(1);
        CachedResponse joined = wait.pending().joined(HttpCache.selector(req), true);
        assertThat(joined).isSameAs(o);
        HttpCache.Join late = cache.join("k", req, ImmediateEventExecutor.INSTANCE, woken::incrementAndGet);
        assertThat(late.object()).isSameAs(o);
        o.complete();
        cache.store(o, 4);
        lead.pending().finished();
        o.release();
        joined.release();
        late.object().release();
        assertThat(cache.join("k", req, ImmediateEventExecutor.INSTANCE, () -> { }).result())
                .isEqualTo(HttpCache.JoinResult.LEAD);
    }

    @Test
    void anUncacheableAnswerStopsCollapsingForTheKey() {
        HttpHeaders req = new DefaultHttpHeaders();
        HttpCache.Join lead = cache.join("k", req, ImmediateEventExecutor.INSTANCE, () -> { });
        HttpCache.Join wait = cache.join("k", req, ImmediateEventExecutor.INSTANCE, () -> { });
        lead.pending().pass(true);
        assertThat(wait.pending().joined(HttpCache.selector(req), true)).isNull();
        assertThat(cache.join("k", req, ImmediateEventExecutor.INSTANCE, () -> { }).result())
                .isEqualTo(HttpCache.JoinResult.PASS);
    }
}
