package io.portico.server.it;

import io.portico.http.cache.CacheStats;
import io.portico.server.admin.AdminClient;
import io.portico.server.admin.Scrape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The cache as clients and the origin see it: every test counts the requests the origin got. */
class CacheIntegrationTest {

    private ScriptedOrigin origin;
    private PorticoHarness portico;
    private final HttpClient client = PorticoHarness.client();

    @AfterEach
    void stop() {
        if (portico != null) {
            portico.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    private void start(String cacheExtra) throws Exception {
        start(cacheExtra, "");
    }

    /** The origin behind one caching route; {@code cacheExtra} goes under its cache, {@code routeExtra} under the route. */
    private void start(String cacheExtra, String routeExtra) throws Exception {
        origin = new ScriptedOrigin();
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                    max_fails: 0
                servers:
                  - default: true
                    routes:
                      - match: { prefix: / }
                        upstream: origin
                        cache:
                          enabled: true
                %s
                %s
                """.formatted(origin.port(), cacheExtra.indent(10), routeExtra.indent(8)));
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(portico.uri(path)).timeout(Duration.ofSeconds(10));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String cacheStatus(HttpResponse<?> r) {
        return r.headers().firstValue("cache-status").orElse("");
    }

    @Test
    void secondRequestIsAHitWithAgeAndTheOriginSeesOne() throws Exception {
        start("");
        origin.on("/page", r -> ScriptedOrigin.Reply.ok("hello", "Cache-Control", "max-age=60", "ETag", "\"v1\""));
        HttpResponse<String> first = get("/page");
        HttpResponse<String> second = get("/page");
        assertThat(first.body()).isEqualTo("hello");
        assertThat(cacheStatus(first)).isEqualTo("portico; fwd=miss; fwd-status=200; stored");
        assertThat(second.body()).isEqualTo("hello");
        assertThat(cacheStatus(second)).startsWith("portico; hit; ttl=");
        assertThat(second.headers().firstValue("age")).isPresent();
        assertThat(second.headers().firstValue("etag")).hasValue("\"v1\"");
        assertThat(second.headers().firstValue("via")).hasValue("1.1 portico");
        assertThat(origin.hits("/page")).isEqualTo(1);
        CacheStats.Snapshot stats = portico.server().cache().stats();
        assertThat(stats.hits()).isEqualTo(1);
        assertThat(stats.misses()).isEqualTo(1);
        assertThat(stats.stored()).isEqualTo(1);
        assertThat(stats.bytesServed()).isEqualTo(5);
    }

    @Test
    void hitsCarryTheStoredFieldsOnceEachWithTheRoutesEditsAndTheirOwnAgeIdAndStatus() throws Exception {
        start("", """
                response_headers:
                  remove: [X-Secret]
                  set: { X-Frame-Options: DENY }
                  add: { X-Served-By: edge-1 }
                """);
        origin.on("/fields", r -> ScriptedOrigin.Reply.ok("0123456789", "Cache-Control", "max-age=60",
                "ETag", "\"f1\"", "X-Secret", "s3cret", "X-Frame-Options", "SAMEORIGIN", "X-Multi", "a"));
        get("/fields");
        try (RawHttp raw = new RawHttp(portico.port())) {
            for (int i = 0; i < 2; i++) {
                raw.send("GET /fields HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\nX-Request-Id: hit-" + i + "\r\n\r\n");
                RawHttp.Response hit = raw.read("GET");
                assertThat(hit.statusLine()).isEqualTo("HTTP/1.1 200 OK");
                assertThat(hit.text()).isEqualTo("0123456789");
                Map<String, List<String>> h = hit.headers();
                assertThat(h.get("cache-status")).singleElement().asString().startsWith("portico; hit; ttl=");
                assertThat(h.get("x-request-id")).containsExactly("hit-" + i);
                assertThat(h.get("age")).singleElement().asString().matches("[0-9]+");
                assertThat(h.get("content-length")).containsExactly("10");
                assertThat(h.get("etag")).containsExactly("\"f1\"");
                assertThat(h.get("accept-ranges")).containsExactly("bytes");
                assertThat(h.get("via")).containsExactly("1.1 portico");
                assertThat(h.get("x-frame-options")).containsExactly("DENY");
                assertThat(h.get("x-served-by")).containsExactly("edge-1");
                assertThat(h.get("x-multi")).containsExactly("a");
                assertThat(h).doesNotContainKey("x-secret").doesNotContainKey("transfer-encoding")
                        .doesNotContainKey("connection");
            }
        }
        assertThat(origin.hits("/fields")).isEqualTo(1);
    }

    @Test
    void aRouteThatEditsAPerHitFieldHasItsEditOnEveryHit() throws Exception {
        start("", """
                response_headers:
                  remove: [Age]
                  set: { Cache-Status: hidden }
                """);
        origin.on("/edited", r -> ScriptedOrigin.Reply.ok("body", "Cache-Control", "max-age=60"));
        get("/edited");
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> hit = get("/edited");
            assertThat(hit.body()).isEqualTo("body");
            assertThat(hit.headers().firstValue("age")).isEmpty();
            assertThat(hit.headers().allValues("cache-status")).containsExactly("hidden");
        }
        assertThat(origin.hits("/edited")).isEqualTo(1);
    }

    @Test
    void aHitAfterARevalidationCarriesTheFieldsThe304Brought() throws Exception {
        start("");
        AtomicInteger n = new AtomicInteger();
        origin.on("/gen", r -> n.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("same body", "Cache-Control", "max-age=60", "ETag", "\"g1\"", "X-Gen", "1")
                : ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"g1\"", "X-Gen", "2"));
        get("/gen");
        assertThat(get("/gen").headers().firstValue("x-gen")).hasValue("1");
        HttpResponse<String> revalidated = get("/gen", "Cache-Control", "no-cache");
        assertThat(revalidated.headers().firstValue("x-gen")).hasValue("2");
        // The stored response was fresh; only the request's no-cache sent it forward (RFC 9211).
        assertThat(cacheStatus(revalidated)).startsWith("portico; fwd=request; fwd-status=304");
        HttpResponse<String> hit = get("/gen");
        assertThat(cacheStatus(hit)).startsWith("portico; hit");
        assertThat(hit.body()).isEqualTo("same body");
        assertThat(hit.headers().allValues("x-gen")).containsExactly("2");
        assertThat(origin.hits("/gen")).isEqualTo(2);
    }

    @Test
    void headIsAnsweredFromTheCachedGet() throws Exception {
        start("");
        origin.on("/doc", r -> ScriptedOrigin.Reply.ok("0123456789", "Cache-Control", "max-age=60"));
        get("/doc");
        HttpResponse<String> head = client.send(HttpRequest.newBuilder(portico.uri("/doc"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("content-length")).hasValue("10");
        assertThat(head.body()).isEmpty();
        assertThat(cacheStatus(head)).contains("hit");
        assertThat(origin.hits("/doc")).isEqualTo(1);
    }

    @Test
    void hundredConcurrentRequestsMakeOneOriginFetch() throws Exception {
        start("");
        origin.on("/hot", r -> ScriptedOrigin.Reply.ok("x".repeat(20_000), "Cache-Control", "max-age=60").delayed(300));
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        HttpClient many = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (int i = 0; i < 100; i++) {
            all.add(many.sendAsync(HttpRequest.newBuilder(portico.uri("/hot")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).hasSize(20_000);
        }
        assertThat(origin.hits("/hot")).isEqualTo(1);
        assertThat(portico.server().cache().stats().collapsed()).isGreaterThan(0);
    }

    @Test
    void aCollapsedRequestReadsTheBodyWhileItIsStillArriving() throws Exception {
        start("");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        origin.on("/big", r -> ScriptedOrigin.Reply.ok("A".repeat(50_000) + "B".repeat(50_000),
                "Cache-Control", "max-age=60").gated(gate));
        CompletableFuture<HttpResponse<InputStream>> leader = client.sendAsync(
                HttpRequest.newBuilder(portico.uri("/big")).build(), HttpResponse.BodyHandlers.ofInputStream());
        await().until(() -> origin.hits("/big") == 1);
        HttpResponse<InputStream> follower = client.send(HttpRequest.newBuilder(portico.uri("/big")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(cacheStatus(follower)).contains("collapsed");
        // The first half arrives although the origin has not sent the second one yet.
        byte[] first = follower.body().readNBytes(50_000);
        assertThat(new String(first, StandardCharsets.US_ASCII)).isEqualTo("A".repeat(50_000));
        assertThat(gate.isDone()).isFalse();
        gate.complete(null);
        assertThat(new String(follower.body().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("B".repeat(50_000));
        assertThat(leader.get().body().readAllBytes()).hasSize(100_000);
        assertThat(origin.hits("/big")).isEqualTo(1);
    }

    @Test
    void staleWhileRevalidateServesStaleAndRefreshesInTheBackground() throws Exception {
        start("");
        AtomicInteger version = new AtomicInteger();
        origin.on("/swr", r -> version.incrementAndGet() == 1
                // Age 15 against max-age 10: stale on arrival, but within the 30 s window.
                ? ScriptedOrigin.Reply.ok("v1", "Cache-Control", "max-age=10, stale-while-revalidate=30", "Age", "15")
                : ScriptedOrigin.Reply.ok("v2", "Cache-Control", "max-age=60"));
        assertThat(get("/swr").body()).isEqualTo("v1");
        HttpResponse<String> stale = get("/swr");
        assertThat(stale.body()).isEqualTo("v1");
        assertThat(cacheStatus(stale)).contains("hit").contains("detail=stale-while-revalidate");
        await().until(() -> origin.hits("/swr") == 2);
        await().untilAsserted(() -> {
            HttpResponse<String> fresh = get("/swr");
            assertThat(fresh.body()).isEqualTo("v2");
            assertThat(cacheStatus(fresh)).startsWith("portico; hit");
        });
        assertThat(origin.hits("/swr")).isEqualTo(2);
    }

    @Test
    void staleIfErrorServesTheStoredResponseWhenTheOriginIsDown() throws Exception {
        start("");
        origin.on("/sie", r -> ScriptedOrigin.Reply.ok("kept", "Cache-Control", "max-age=0, stale-if-error=600"));
        origin.on("/plain", r -> ScriptedOrigin.Reply.ok("gone", "Cache-Control", "max-age=0"));
        assertThat(get("/sie").body()).isEqualTo("kept");
        assertThat(get("/plain").body()).isEqualTo("gone");
        origin.down();
        HttpResponse<String> r = get("/sie");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("kept");
        assertThat(cacheStatus(r)).contains("fwd=stale").contains("detail=stale-if-error");
        // Without stale-if-error (and no grace configured) the failure shows.
        assertThat(get("/plain").statusCode()).isEqualTo(502);
    }

    @Test
    void graceServesStaleOnOriginErrorsWithoutDirective() throws Exception {
        start("stale_if_error: 1h");
        AtomicInteger n = new AtomicInteger();
        origin.on("/g", r -> n.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("good", "Cache-Control", "max-age=0")
                : ScriptedOrigin.Reply.of(503, "busy"));
        AtomicInteger m = new AtomicInteger();
        origin.on("/strict", r -> m.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("strict", "Cache-Control", "max-age=0, must-revalidate")
                : ScriptedOrigin.Reply.of(503, "busy"));
        assertThat(get("/g").body()).isEqualTo("good");
        HttpResponse<String> r = get("/g");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("good");
        assertThat(cacheStatus(r)).contains("fwd-status=503");
        assertThat(get("/strict").body()).isEqualTo("strict");
        // must-revalidate forbids serving it stale, grace or not.
        assertThat(get("/strict").statusCode()).isEqualTo(503);
    }

    @Test
    void varyKeepsOneVariantPerNormalisedValue() throws Exception {
        start("");
        origin.on("/v", r -> ScriptedOrigin.Reply.ok("lang=" + r.headers().get("Accept-Language"),
                "Cache-Control", "max-age=60", "Vary", "Accept-Language"));
        assertThat(get("/v", "Accept-Language", "en").body()).isEqualTo("lang=en");
        assertThat(get("/v", "Accept-Language", "de").body()).isEqualTo("lang=de");
        assertThat(get("/v", "Accept-Language", "EN").body()).isEqualTo("lang=en");
        assertThat(get("/v", "Accept-Language", "de").body()).isEqualTo("lang=de");
        assertThat(origin.hits("/v")).isEqualTo(2);
        assertThat(get("/v").body()).isEqualTo("lang=null");
        assertThat(origin.hits("/v")).isEqualTo(3);
    }

    @Test
    void varyStarIsNeverServedFromTheCache() throws Exception {
        start("");
        origin.on("/star", r -> ScriptedOrigin.Reply.ok("s", "Cache-Control", "max-age=60", "Vary", "*"));
        get("/star");
        get("/star");
        assertThat(origin.hits("/star")).isEqualTo(2);
    }

    /**
     * If-Match and If-Unmodified-Since do not apply to a cache (RFC 9111 section 4.3.2): a fill
     * does not forward them, so a client cannot make it a 412 that drops the stored response or
     * marks the key uncacheable; stored, the response answers them as it answers any request.
     */
    @Test
    void ifMatchAndIfUnmodifiedSinceNeitherReachTheOriginOnAFillNorSpoilTheEntry() throws Exception {
        start("");
        origin.on("/im", r -> r.headers().contains("If-Match") || r.headers().contains("If-Unmodified-Since")
                ? ScriptedOrigin.Reply.of(412, "")
                : ScriptedOrigin.Reply.ok("body", "Cache-Control", "max-age=60", "ETag", "\"v1\"",
                        "Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT"));
        HttpResponse<String> first = get("/im", "If-Match", "\"nope\"");
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).isEqualTo("body");
        assertThat(cacheStatus(get("/im"))).startsWith("portico; hit");
        assertThat(get("/im", "If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT").body()).isEqualTo("body");
        assertThat(origin.hits("/im")).isEqualTo(1);
    }

    @Test
    void clientConditionalsAreAnswered304FromTheCache() throws Exception {
        start("");
        origin.on("/c", r -> ScriptedOrigin.Reply.ok("body", "Cache-Control", "max-age=60", "ETag", "W/\"e1\"",
                "Last-Modified", "Sun, 01 Nov 2026 10:00:00 GMT"));
        get("/c");
        HttpResponse<String> inm = get("/c", "If-None-Match", "\"e1\"");
        assertThat(inm.statusCode()).isEqualTo(304);
        assertThat(inm.headers().firstValue("etag")).hasValue("W/\"e1\"");
        assertThat(inm.body()).isEmpty();
        HttpResponse<String> ims = get("/c", "If-Modified-Since", "Sun, 01 Nov 2026 10:00:00 GMT");
        assertThat(ims.statusCode()).isEqualTo(304);
        // If-None-Match that does not match wins over a matching If-Modified-Since.
        HttpResponse<String> both = get("/c", "If-None-Match", "\"other\"", "If-Modified-Since", "Sun, 01 Nov 2026 10:00:00 GMT");
        assertThat(both.statusCode()).isEqualTo(200);
        assertThat(both.body()).isEqualTo("body");
        assertThat(origin.hits("/c")).isEqualTo(1);
    }

    @Test
    void staleResponseIsRevalidatedAndAn304FromTheOriginFreshensIt() throws Exception {
        start("");
        AtomicInteger n = new AtomicInteger();
        origin.on("/r", r -> {
            if (n.incrementAndGet() == 1) {
                return ScriptedOrigin.Reply.ok("original", "Cache-Control", "max-age=0", "ETag", "\"r1\"", "X-Gen", "1");
            }
            return "\"r1\"".equals(r.headers().get("If-None-Match"))
                    ? ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"r1\"", "X-Gen", "2")
                    : ScriptedOrigin.Reply.ok("unexpected full answer", "Cache-Control", "max-age=60");
        });
        assertThat(get("/r").body()).isEqualTo("original");
        HttpResponse<String> revalidated = get("/r");
        assertThat(revalidated.statusCode()).isEqualTo(200);
        assertThat(revalidated.body()).isEqualTo("original");
        assertThat(revalidated.headers().firstValue("x-gen")).hasValue("2");
        assertThat(cacheStatus(revalidated)).contains("fwd=stale").contains("fwd-status=304");
        HttpResponse<String> hit = get("/r");
        assertThat(cacheStatus(hit)).startsWith("portico; hit");
        assertThat(hit.body()).isEqualTo("original");
        assertThat(origin.hits("/r")).isEqualTo(2);
        assertThat(portico.server().cache().stats().revalidated()).isEqualTo(1);
    }

    @Test
    void a304WithoutDateOrAgeMakesTheStoredResponseFreshFromNowOn() throws Exception {
        start("");
        // Stored an hour ago (its Date), and by way of another cache that had it for two minutes (its Age).
        String anHourAgo = io.portico.http.cache.HttpDates.format(System.currentTimeMillis() - 3_600_000);
        AtomicInteger d = new AtomicInteger();
        origin.on("/dated", r -> d.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("dated", "Cache-Control", "max-age=0", "ETag", "\"d1\"", "Date", anHourAgo)
                : ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"d1\""));
        AtomicInteger a = new AtomicInteger();
        origin.on("/aged", r -> a.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("aged", "Cache-Control", "max-age=0", "ETag", "\"a1\"", "Age", "120")
                : ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"a1\""));
        for (String path : List.of("/dated", "/aged")) {
            get(path);
            assertThat(cacheStatus(get(path))).contains("fwd-status=304");
            // The origin's 304 (no Date: a recipient adds its own; no Age: it is new) makes the
            // response fresh for its max-age from now, not from the old Date or with the old Age.
            HttpResponse<String> hit = get(path);
            assertThat(cacheStatus(hit)).as(path).startsWith("portico; hit");
            assertThat(Long.parseLong(hit.headers().firstValue("age").orElseThrow())).as(path).isLessThan(60);
            assertThat(origin.hits(path)).as(path).isEqualTo(2);
        }
    }

    @Test
    void a304NeverAddsOneClientsSetCookieToTheSharedResponse() throws Exception {
        start("");
        AtomicInteger n = new AtomicInteger();
        origin.on("/s", r -> n.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("page", "Cache-Control", "max-age=0", "ETag", "\"s1\"")
                : ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"s1\"",
                        "Set-Cookie", "session=alice"));
        get("/s");
        HttpResponse<String> alice = get("/s", "Cookie", "session=alice");
        assertThat(cacheStatus(alice)).contains("fwd-status=304");
        HttpResponse<String> bob = get("/s");
        assertThat(cacheStatus(bob)).startsWith("portico; hit");
        assertThat(bob.body()).isEqualTo("page");
        assertThat(bob.headers().allValues("set-cookie")).isEmpty();
        assertThat(origin.hits("/s")).isEqualTo(2);
    }

    @Test
    void a304ThatMakesTheResponsePrivateAnswersItsRequestAndDropsTheStoredOne() throws Exception {
        start("");
        AtomicInteger n = new AtomicInteger();
        origin.on("/p", r -> n.incrementAndGet() == 1
                ? ScriptedOrigin.Reply.ok("page", "Cache-Control", "max-age=0", "ETag", "\"p1\"")
                : r.headers().contains("If-None-Match")
                        ? ScriptedOrigin.Reply.of(304, "", "Cache-Control", "private, max-age=60", "ETag", "\"p1\"")
                        : ScriptedOrigin.Reply.ok("fresh", "Cache-Control", "private, max-age=60", "ETag", "\"p1\""));
        get("/p");
        HttpResponse<String> revalidated = get("/p");
        assertThat(revalidated.body()).isEqualTo("page");
        assertThat(cacheStatus(revalidated)).contains("fwd-status=304").contains("detail=private");
        HttpResponse<String> next = get("/p");
        assertThat(next.body()).isEqualTo("fresh");
        assertThat(cacheStatus(next)).doesNotContain("hit");
        assertThat(origin.hits("/p")).isEqualTo(3);
    }

    @Test
    void a304ForAnotherEntityTagDoesNotFreshenTheStoredResponseAndTheRequestIsAskedAgain() throws Exception {
        start("");
        AtomicInteger n = new AtomicInteger();
        origin.on("/e", r -> {
            int i = n.incrementAndGet();
            if (i == 1) {
                return ScriptedOrigin.Reply.ok("one", "Cache-Control", "max-age=0", "ETag", "\"v1\"");
            }
            // A pool member with its own entity tags: it says "not modified" about "v2".
            return r.headers().contains("If-None-Match")
                    ? ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"v2\"")
                    : ScriptedOrigin.Reply.ok("two", "Cache-Control", "max-age=60", "ETag", "\"v2\"");
        });
        assertThat(get("/e").body()).isEqualTo("one");
        HttpResponse<String> second = get("/e");
        assertThat(second.statusCode()).isEqualTo(200);
        assertThat(second.body()).isEqualTo("two");
        assertThat(second.headers().firstValue("etag")).hasValue("\"v2\"");
        // The 304 about "v2" was not taken for "v1": the request went again, without validators.
        assertThat(origin.hits("/e")).isEqualTo(3);
        assertThat(origin.requestHeaders.get(2).contains("If-None-Match")).isFalse();
        HttpResponse<String> hit = get("/e");
        assertThat(cacheStatus(hit)).startsWith("portico; hit");
        assertThat(hit.body()).isEqualTo("two");
        assertThat(origin.hits("/e")).isEqualTo(3);
    }

    @Test
    void theHostsPortTheOriginSeesIsPartOfTheKey() throws Exception {
        start("");
        origin.on("/h", r -> ScriptedOrigin.Reply.ok("host=" + r.headers().get("Host"), "Cache-Control", "max-age=60"));
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response odd = raw.send("GET /h HTTP/1.1\r\nHost: 127.0.0.1:1337\r\n\r\n").read("GET");
            assertThat(new String(odd.body(), StandardCharsets.US_ASCII)).isEqualTo("host=127.0.0.1:1337");
            RawHttp.Response dot = raw.send("GET /h HTTP/1.1\r\nHost: 127.0.0.1.:" + portico.port() + "\r\n\r\n").read("GET");
            assertThat(new String(dot.body(), StandardCharsets.US_ASCII)).isEqualTo("host=127.0.0.1.:" + portico.port());
        }
        HttpResponse<String> normal = get("/h");
        assertThat(normal.body()).isEqualTo("host=127.0.0.1:" + portico.port());
        assertThat(cacheStatus(normal)).doesNotContain("hit");
        assertThat(cacheStatus(get("/h"))).startsWith("portico; hit");
        assertThat(origin.hits("/h")).isEqualTo(3);
        // A purge by URL names the host without a port and reaches every variant.
        assertThat(portico.server().cache().purgeUrl("http://127.0.0.1/h")).isEqualTo(3);
    }

    @Test
    void aRangeOnAnObjectTooLargeToStoreReachesTheOriginOnceTheCacheKnows() throws Exception {
        start("max_object_size: 1k");
        String body = "b".repeat(5000);
        origin.on("/big", r -> r.headers().contains("Range")
                ? ScriptedOrigin.Reply.of(206, body.substring(0, 10), "Content-Range", "bytes 0-9/5000",
                        "Cache-Control", "max-age=60")
                : ScriptedOrigin.Reply.ok(body, "Cache-Control", "max-age=60"));
        // The first request finds out that the object is too large (the cache asked for all of it).
        assertThat(get("/big", "Range", "bytes=0-9").body()).hasSize(5000);
        HttpResponse<String> second = get("/big", "Range", "bytes=0-9");
        assertThat(second.statusCode()).isEqualTo(206);
        assertThat(second.body()).isEqualTo("b".repeat(10));
        assertThat(origin.requestHeaders.get(1).get("Range")).isEqualTo("bytes=0-9");
    }

    @Test
    void aChunkedResponseThatOutgrowsTheObjectLimitReachesEveryoneWaitingForIt() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        AtomicInteger requests = new AtomicInteger();
        String chunk = "c".repeat(600);
        try (TcpOrigin chunked = new TcpOrigin(sock -> {
            java.io.BufferedReader in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(sock.getInputStream(), StandardCharsets.ISO_8859_1));
            java.io.OutputStream out = sock.getOutputStream();
            while (true) {
                String line = in.readLine();
                if (line == null) {
                    return;
                }
                while (line != null && !line.isEmpty()) {
                    line = in.readLine();
                }
                boolean first = requests.incrementAndGet() == 1;
                String piece = Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n";
                out.write(("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n" + piece)
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (first) {
                    gate.join();
                }
                out.write((piece.repeat(3) + "0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            }
        })) {
            portico = PorticoHarness.start("""
                    upstreams:
                      origin:
                        backends:
                          - address: 127.0.0.1:%d
                    servers:
                      - default: true
                        routes:
                          - match: { prefix: / }
                            upstream: origin
                            cache: { enabled: true, max_object_size: 1k }
                    """.formatted(chunked.port()));
            CompletableFuture<HttpResponse<String>> leader = client.sendAsync(
                    HttpRequest.newBuilder(portico.uri("/c")).build(), HttpResponse.BodyHandlers.ofString());
            await().until(() -> requests.get() == 1);
            CompletableFuture<HttpResponse<String>> follower = client.sendAsync(
                    HttpRequest.newBuilder(portico.uri("/c")).build(), HttpResponse.BodyHandlers.ofString());
            await().until(() -> portico.server().cache().stats().collapsed() == 1);
            gate.complete(null);
            // Without a length the follower waits for the whole object; past the limit it is not
            // stored, and the follower fetches its own copy instead of being cut off mid-body.
            assertThat(leader.get().body()).isEqualTo(chunk.repeat(4));
            assertThat(follower.get().body()).isEqualTo(chunk.repeat(4));
            assertThat(requests.get()).isEqualTo(2);
            assertThat(cacheStatus(get("/c"))).doesNotContain("hit");
            assertThat(chunked.failures).isEmpty();
        }
    }

    @Test
    void requestNoCacheRevalidatesAndOnlyIfCachedGets504WhenNothingIsStored() throws Exception {
        start("");
        origin.on("/n", r -> ScriptedOrigin.Reply.ok("n", "Cache-Control", "max-age=60"));
        get("/n");
        get("/n", "Cache-Control", "no-cache");
        assertThat(origin.hits("/n")).isEqualTo(2);
        get("/n", "Pragma", "no-cache");
        assertThat(origin.hits("/n")).isEqualTo(3);
        assertThat(get("/n", "Cache-Control", "only-if-cached").statusCode()).isEqualTo(200);
        HttpResponse<String> none = get("/missing", "Cache-Control", "only-if-cached");
        assertThat(none.statusCode()).isEqualTo(504);
        assertThat(origin.hits("/missing")).isZero();
    }

    @Test
    void unstorableResponsesAreNotStored() throws Exception {
        start("");
        origin.on("/nostore", r -> ScriptedOrigin.Reply.ok("a", "Cache-Control", "no-store"));
        origin.on("/private", r -> ScriptedOrigin.Reply.ok("b", "Cache-Control", "private, max-age=60"));
        origin.on("/cookie", r -> ScriptedOrigin.Reply.ok("c", "Cache-Control", "max-age=60", "Set-Cookie", "s=1"));
        origin.on("/error", r -> ScriptedOrigin.Reply.of(500, "e", "Cache-Control", "max-age=60"));
        origin.on("/nf", r -> ScriptedOrigin.Reply.of(404, "nf", "Cache-Control", "max-age=60"));
        for (String p : List.of("/nostore", "/private", "/cookie", "/error", "/nf")) {
            get(p);
            HttpResponse<String> again = get(p);
            assertThat(cacheStatus(again)).as(p).contains("fwd=miss");
            assertThat(origin.hits(p)).as(p).isEqualTo(2);
        }
        HttpResponse<String> withAuth = get("/auth", "Authorization", "Bearer t");
        origin.on("/auth", r -> ScriptedOrigin.Reply.ok("secret", "Cache-Control", "max-age=60"));
        get("/auth", "Authorization", "Bearer t");
        get("/auth", "Authorization", "Bearer t");
        assertThat(withAuth.statusCode()).isEqualTo(404);
        assertThat(origin.hits("/auth")).isEqualTo(3);
    }

    @Test
    void ttlRulesStoreErrorsOnlyWhenNamedAndFillSilentOrigins() throws Exception {
        start("""
                ttl:
                  "404": 1m
                  any: 1m
                """);
        origin.on("/nf", r -> ScriptedOrigin.Reply.of(404, "nf"));
        origin.on("/redirect", r -> ScriptedOrigin.Reply.of(302, "", "Location", "/x"));
        origin.on("/boom", r -> ScriptedOrigin.Reply.of(500, "boom"));
        for (int i = 0; i < 2; i++) {
            get("/nf");
            get("/redirect");
            get("/boom");
        }
        assertThat(origin.hits("/nf")).isEqualTo(1);
        assertThat(origin.hits("/redirect")).isEqualTo(1);
        assertThat(origin.hits("/boom")).isEqualTo(2);
    }

    @Test
    void responsesOverTheObjectSizeLimitPassThrough() throws Exception {
        start("max_object_size: 1k");
        origin.on("/large", r -> ScriptedOrigin.Reply.ok("z".repeat(4000), "Cache-Control", "max-age=60"));
        assertThat(get("/large").body()).hasSize(4000);
        HttpResponse<String> again = get("/large");
        assertThat(again.body()).hasSize(4000);
        assertThat(cacheStatus(again)).contains("detail=too-large");
        assertThat(origin.hits("/large")).isEqualTo(2);
    }

    @Test
    void unsafeMethodsInvalidateTheUriAndSameOriginLocations() throws Exception {
        start("");
        origin.on("/item", r -> r.method().name().equals("GET")
                ? ScriptedOrigin.Reply.ok("item", "Cache-Control", "max-age=60")
                : ScriptedOrigin.Reply.ok("changed"));
        origin.on("/other", r -> ScriptedOrigin.Reply.ok("other", "Cache-Control", "max-age=60"));
        origin.on("/items", r -> ScriptedOrigin.Reply.of(201, "", "Location", "/other"));
        get("/item");
        get("/item");
        assertThat(origin.hits("/item")).isEqualTo(1);
        HttpResponse<String> post = client.send(HttpRequest.newBuilder(portico.uri("/item"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(cacheStatus(post)).contains("fwd=method");
        get("/item");
        assertThat(origin.hits("/item")).isEqualTo(3);
        get("/other");
        client.send(HttpRequest.newBuilder(portico.uri("/items")).POST(HttpRequest.BodyPublishers.ofString("y")).build(),
                HttpResponse.BodyHandlers.ofString());
        get("/other");
        assertThat(origin.hits("/other")).isEqualTo(2);
    }

    @Test
    void purgeByUrlPrefixAndTag() throws Exception {
        start("");
        origin.on("/a", r -> ScriptedOrigin.Reply.ok("a", "Cache-Control", "max-age=60", "Surrogate-Key", "red"));
        origin.on("/b", r -> ScriptedOrigin.Reply.ok("b", "Cache-Control", "max-age=60", "Cache-Tag", "red,blue"));
        get("/a");
        get("/b");
        String base = "http://127.0.0.1";
        assertThat(portico.server().cache().purgeTag("red")).isEqualTo(2);
        get("/a");
        assertThat(origin.hits("/a")).isEqualTo(2);
        assertThat(portico.server().cache().purgeUrl(base + "/a")).isEqualTo(1);
        get("/a");
        get("/b");
        assertThat(portico.server().cache().purgePrefix(base + "/")).isEqualTo(2);
    }

    /**
     * A purge while the object is being fetched: the fetch's client gets what the origin sent, but
     * it is not stored, so the next request goes to the origin and gets the new version. It was
     * stored once the fetch ended, and the purge was undone for as long as the object stayed fresh.
     */
    @Test
    void aPurgeDuringAFetchKeepsThatFetchFromBeingStored() throws Exception {
        start("");
        String base = "http://127.0.0.1";
        Map<String, Supplier<Integer>> purges = new LinkedHashMap<>();
        purges.put("/inflight/url", () -> portico.server().cache().purgeUrl(base + "/inflight/url"));
        purges.put("/inflight/tag", () -> portico.server().cache().purgeTag("moving"));
        purges.put("/inflight/prefix", () -> portico.server().cache().purgePrefix(base + "/inflight/"));
        purges.put("/inflight/all", () -> portico.server().cache().purgeAll());
        for (Map.Entry<String, Supplier<Integer>> p : purges.entrySet()) {
            String path = p.getKey();
            CompletableFuture<Void> gate = new CompletableFuture<>();
            AtomicInteger version = new AtomicInteger();
            origin.on(path, r -> version.incrementAndGet() == 1
                    ? ScriptedOrigin.Reply.ok("v1-" + "x".repeat(50_000) + "y".repeat(50_000),
                            "Cache-Control", "max-age=60", "Surrogate-Key", "moving").gated(gate)
                    : ScriptedOrigin.Reply.ok("v2", "Cache-Control", "max-age=60", "Surrogate-Key", "moving"));
            CompletableFuture<HttpResponse<String>> first = client.sendAsync(
                    HttpRequest.newBuilder(portico.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
            await().until(() -> origin.hits(path) == 1);
            p.getValue().get();
            gate.complete(null);
            assertThat(first.get(10, TimeUnit.SECONDS).body()).as(path).startsWith("v1-").hasSize(100_003);
            HttpResponse<String> next = get(path);
            assertThat(next.body()).as(path).isEqualTo("v2");
            assertThat(origin.hits(path)).as(path).isEqualTo(2);
            // A fetch sent after the purge is stored as usual.
            assertThat(get(path).body()).as(path).isEqualTo("v2");
            assertThat(origin.hits(path)).as(path).isEqualTo(2);
        }
    }

    /**
     * A cache tier that sets the origin's Host (conf/examples/cdn-cache.yaml) keys and purges by
     * the Host the origin sees: every client alias shares one object, fetched once, and a purge by
     * the origin's URL reaches it. The key went by the client's Host, and such a purge found nothing.
     */
    @Test
    void aRouteThatSetsTheOriginsHostKeysAndPurgesByIt() throws Exception {
        start("", "request_headers: {set: {Host: origin.example.com}}");
        origin.on("/o", r -> ScriptedOrigin.Reply.ok("o", "Cache-Control", "max-age=60"));
        for (String host : List.of("a.cdn.test", "b.cdn.test", "A.CDN.TEST:80", "a.cdn.test.")) {
            try (RawHttp raw = new RawHttp(portico.port())) {
                assertThat(raw.send("GET /o HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read().text()).isEqualTo("o");
            }
        }
        assertThat(origin.hits("/o")).isEqualTo(1);
        AdminClient admin = new AdminClient(portico.server().adminAddress(), null);
        assertThat(admin.post("/cache/purge?url=http://origin.example.com/o").body()).contains("\"purged\":1");
    }

    @Test
    void theAdminListenerPurgesAndCountsHitsAndMisses() throws Exception {
        start("");
        origin.on("/a", r -> ScriptedOrigin.Reply.ok("a", "Cache-Control", "max-age=60", "Surrogate-Key", "red"));
        origin.on("/b", r -> ScriptedOrigin.Reply.ok("b", "Cache-Control", "max-age=60"));
        AdminClient admin = new AdminClient(portico.server().adminAddress(), null);
        get("/a");
        get("/a");
        get("/b");
        Scrape scrape = admin.scrape();
        assertThat(scrape.sum("portico_cache_hits_total")).isEqualTo(1);
        assertThat(scrape.sum("portico_cache_misses_total")).isEqualTo(2);
        assertThat(scrape.sum("portico_cache_objects", "tier=memory")).isEqualTo(2);

        HttpResponse<String> byTag = admin.post("/cache/purge?tag=red");
        assertThat(byTag.statusCode()).isEqualTo(200);
        assertThat(byTag.body()).contains("\"purged\":1");
        get("/a");
        assertThat(origin.hits("/a")).isEqualTo(2);

        assertThat(admin.post("/cache/purge?url=http://127.0.0.1/b").body()).contains("\"purged\":1");
        get("/b");
        assertThat(origin.hits("/b")).isEqualTo(2);

        assertThat(admin.post("/cache/purge?prefix=http://127.0.0.1/").body()).contains("\"purged\":2");
        assertThat(admin.get("/cache").body()).contains("\"purged\":");
        // Purge needs exactly one selector, by POST.
        assertThat(admin.post("/cache/purge").statusCode()).isEqualTo(400);
        assertThat(admin.post("/cache/purge?url=x&tag=y").statusCode()).isEqualTo(400);
        assertThat(admin.get("/cache/purge?url=x").statusCode()).isEqualTo(405);
        // A bad %-escape, or escapes that are not UTF-8, get a 400 that says so (the first closed the connection).
        try (RawHttp raw = new RawHttp(portico.server().adminAddress().getPort())) {
            RawHttp.Response bad = raw.send("POST /cache/purge?url=%zz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
                    .read();
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.text()).contains("malformed query string");
            RawHttp.Response notUtf8 = raw.send(
                    "POST /cache/purge?prefix=%E0%A4 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").read();
            assertThat(notUtf8.status()).isEqualTo(400);
            assertThat(notUtf8.text()).contains("not UTF-8");
        }
    }

    @Test
    void aWebPageCannotPurgeThroughTheAdminListener() throws Exception {
        start("");
        origin.on("/a", r -> ScriptedOrigin.Reply.ok("a", "Cache-Control", "max-age=60"));
        AdminClient admin = new AdminClient(portico.server().adminAddress(), null);
        get("/a");
        // What a page on another site gets when it POSTs (a form, a no-cors fetch) to the loopback listener.
        HttpResponse<String> crossSite = admin.post("/cache/purge?all=true", "Origin", "http://evil.example");
        assertThat(crossSite.statusCode()).isEqualTo(403);
        assertThat(crossSite.body()).contains("Origin http://evil.example is not the admin listener's own");
        HttpResponse<String> fetchMetadata = admin.post("/cache/purge?all=true", "Sec-Fetch-Site", "cross-site");
        assertThat(fetchMetadata.statusCode()).isEqualTo(403);
        assertThat(admin.post("/cache/purge?all=true", "Origin", "null").statusCode()).isEqualTo(403);
        get("/a");
        assertThat(origin.hits("/a")).isEqualTo(1);
        assertThat(portico.server().cache().stats().purged()).isZero();

        // The listener's own origin, and curl (no Origin), still purge.
        assertThat(admin.post("/cache/purge?url=http://127.0.0.1/a", "Origin", admin.origin(),
                "Sec-Fetch-Site", "same-origin").body()).contains("\"purged\":1");
        get("/a");
        HttpResponse<String> curl = admin.post("/cache/purge?all=true");
        assertThat(curl.statusCode()).isEqualTo(200);
        assertThat(curl.body()).contains("\"purged\":1");
        assertThat(origin.hits("/a")).isEqualTo(2);
    }

    @Test
    void rangesAreAnsweredFromTheStoredObject() throws Exception {
        start("");
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            body.append((char) ('a' + i % 26));
        }
        String full = body.toString();
        origin.on("/r", r -> ScriptedOrigin.Reply.ok(full, "Cache-Control", "max-age=60", "ETag", "\"r\""));
        HttpResponse<String> first = get("/r", "Range", "bytes=0-9");
        // A miss fetches the whole object for the cache; the client gets all of it.
        assertThat(first.statusCode()).isEqualTo(200);
        HttpResponse<String> mid = get("/r", "Range", "bytes=10000-10009");
        assertThat(mid.statusCode()).isEqualTo(206);
        assertThat(mid.body()).isEqualTo(full.substring(10000, 10010));
        assertThat(mid.headers().firstValue("content-range")).hasValue("bytes 10000-10009/20000");
        HttpResponse<String> suffix = get("/r", "Range", "bytes=-5");
        assertThat(suffix.body()).isEqualTo(full.substring(19995));
        HttpResponse<String> open = get("/r", "Range", "bytes=19990-");
        assertThat(open.body()).isEqualTo(full.substring(19990));
        HttpResponse<String> beyond = get("/r", "Range", "bytes=20000-");
        assertThat(beyond.statusCode()).isEqualTo(416);
        assertThat(beyond.headers().firstValue("content-range")).hasValue("bytes */20000");
        HttpResponse<String> staleValidator = get("/r", "Range", "bytes=0-9", "If-Range", "\"old\"");
        assertThat(staleValidator.statusCode()).isEqualTo(200);
        assertThat(staleValidator.body()).isEqualTo(full);
        HttpResponse<String> matching = get("/r", "Range", "bytes=0-9", "If-Range", "\"r\"");
        assertThat(matching.statusCode()).isEqualTo(206);
        assertThat(matching.body()).isEqualTo(full.substring(0, 10));
        assertThat(get("/r").headers().firstValue("accept-ranges")).hasValue("bytes");
        assertThat(origin.hits("/r")).isEqualTo(1);
        // The origin never saw a Range: the cache asked for the whole object.
        assertThat(origin.requestHeaders.get(0).contains("Range")).isFalse();
    }

    @Test
    void severalRangesAreAnsweredAsMultipartByterangesFromTheStoredObject() throws Exception {
        start("");
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 20_000; i++) {
            body.append((char) ('a' + i % 26));
        }
        String full = body.toString();
        origin.on("/m", r -> ScriptedOrigin.Reply.ok(full, "Cache-Control", "max-age=60", "Content-Type", "text/plain"));
        get("/m");

        HttpResponse<String> multi = get("/m", "Range", "bytes=0-9,100-109,-5");
        assertThat(multi.statusCode()).isEqualTo(206);
        String type = multi.headers().firstValue("content-type").orElseThrow();
        assertThat(type).startsWith("multipart/byteranges; boundary=");
        assertThat(multi.headers().firstValue("content-range")).isEmpty();
        String b = type.substring(type.indexOf("boundary=") + 9);
        assertThat(multi.body()).isEqualTo(
                "--" + b + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-9/20000\r\n\r\n" + full.substring(0, 10)
                + "\r\n--" + b + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 100-109/20000\r\n\r\n"
                + full.substring(100, 110)
                + "\r\n--" + b + "\r\nContent-Type: text/plain\r\nContent-Range: bytes 19995-19999/20000\r\n\r\n"
                + full.substring(19995) + "\r\n--" + b + "--\r\n");
        assertThat(multi.headers().firstValue("content-length")).hasValue(Integer.toString(multi.body().length()));

        // Unsatisfiable ranges among satisfiable ones are left out; one left is a plain 206.
        HttpResponse<String> one = get("/m", "Range", "bytes=5-9,30000-");
        assertThat(one.statusCode()).isEqualTo(206);
        assertThat(one.headers().firstValue("content-range")).hasValue("bytes 5-9/20000");
        assertThat(one.body()).isEqualTo(full.substring(5, 10));
        // Overlapping ranges may be ignored (RFC 9110 section 14.2): the whole object goes.
        HttpResponse<String> overlapping = get("/m", "Range", "bytes=0-99,50-149");
        assertThat(overlapping.statusCode()).isEqualTo(200);
        assertThat(overlapping.body()).isEqualTo(full);
        assertThat(get("/m", "Range", "bytes=20000-,30000-").statusCode()).isEqualTo(416);
        assertThat(origin.hits("/m")).isEqualTo(1);
    }

    @Test
    void compressibleResponsesAreCompressedOncePerCodingAndServedToClientsThatAcceptIt() throws Exception {
        start("compress: true");
        String page = "<p>portico</p>\n".repeat(1000);
        origin.on("/page", r -> ScriptedOrigin.Reply.ok(page, "Content-Type", "text/html; charset=utf-8",
                "Cache-Control", "max-age=60", "ETag", "\"p\""));
        origin.on("/img", r -> ScriptedOrigin.Reply.ok("x".repeat(5000), "Content-Type", "image/png",
                "Cache-Control", "max-age=60"));
        HttpResponse<String> miss = get("/page", "Accept-Encoding", "gzip");
        assertThat(miss.headers().allValues("vary")).contains("Accept-Encoding");
        assertThat(miss.body()).isEqualTo(page);
        await().untilAsserted(() -> {
            HttpResponse<byte[]> gz = client.send(HttpRequest.newBuilder(portico.uri("/page"))
                    .header("Accept-Encoding", "gzip, deflate").build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(gz.headers().firstValue("content-encoding")).hasValue("gzip");
            assertThat(gz.headers().firstValue("etag")).hasValue("W/\"p\"");
            assertThat(gz.headers().allValues("vary")).contains("Accept-Encoding");
            assertThat(gz.body().length).isLessThan(page.length() / 10);
            assertThat(gz.headers().firstValue("content-length")).hasValue(Integer.toString(gz.body().length));
            try (InputStream in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz.body()))) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(page);
            }
        });
        await().untilAsserted(() -> {
            HttpResponse<byte[]> br = client.send(HttpRequest.newBuilder(portico.uri("/page"))
                    .header("Accept-Encoding", "gzip, br").build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(br.headers().firstValue("content-encoding")).hasValue("br");
            assertThat(br.headers().allValues("vary")).contains("Accept-Encoding");
            byte[] plain = com.aayushatharva.brotli4j.decoder.Decoder.decompress(br.body()).getDecompressedData();
            assertThat(new String(plain, StandardCharsets.UTF_8)).isEqualTo(page);
        });
        // A HEAD carries the fields the same GET would (RFC 9110 section 9.3.2): the gzip copy's.
        HttpResponse<Void> head = client.send(HttpRequest.newBuilder(portico.uri("/page"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Accept-Encoding", "gzip").build(),
                HttpResponse.BodyHandlers.discarding());
        HttpResponse<byte[]> gzGet = client.send(HttpRequest.newBuilder(portico.uri("/page"))
                .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(head.headers().firstValue("content-encoding")).hasValue("gzip");
        assertThat(head.headers().firstValue("etag")).isEqualTo(gzGet.headers().firstValue("etag"));
        assertThat(head.headers().firstValue("content-length")).hasValue(Integer.toString(gzGet.body().length));
        HttpResponse<String> identity = get("/page", "Accept-Encoding", "gzip;q=0, identity");
        assertThat(identity.headers().firstValue("content-encoding")).isEmpty();
        assertThat(identity.body()).isEqualTo(page);
        assertThat(identity.headers().allValues("vary")).contains("Accept-Encoding");
        HttpResponse<String> range = get("/page", "Accept-Encoding", "gzip", "Range", "bytes=0-2");
        assertThat(range.statusCode()).isEqualTo(206);
        assertThat(range.body()).isEqualTo("<p>");
        HttpResponse<String> notModified = get("/page", "Accept-Encoding", "gzip", "If-None-Match", "W/\"p\"");
        assertThat(notModified.statusCode()).isEqualTo(304);
        get("/img", "Accept-Encoding", "gzip");
        HttpResponse<String> img = get("/img", "Accept-Encoding", "gzip");
        assertThat(img.headers().firstValue("content-encoding")).isEmpty();
        assertThat(img.headers().allValues("vary")).doesNotContain("Accept-Encoding");
        assertThat(origin.hits("/page")).isEqualTo(1);
        // A purge of the URL takes the compressed copies with it.
        assertThat(portico.server().cache().purgeUrl("http://127.0.0.1/page")).isEqualTo(3);
    }

    @Test
    void theFillGoesOnWhenItsOwnClientLeavesSoCollapsedReadersGetEverything() throws Exception {
        start("");
        CompletableFuture<Void> gate = new CompletableFuture<>();
        origin.on("/leave", r -> ScriptedOrigin.Reply.ok("L".repeat(40_000) + "R".repeat(40_000),
                "Cache-Control", "max-age=60").gated(gate));
        try (java.net.Socket leader = new java.net.Socket("127.0.0.1", portico.port())) {
            leader.getOutputStream().write(("GET /leave HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            leader.getInputStream().readNBytes(1000);
            HttpResponse<InputStream> follower = client.send(HttpRequest.newBuilder(portico.uri("/leave")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(cacheStatus(follower)).contains("collapsed");
            leader.close();
            gate.complete(null);
            byte[] all = follower.body().readAllBytes();
            assertThat(new String(all, StandardCharsets.US_ASCII)).isEqualTo("L".repeat(40_000) + "R".repeat(40_000));
        }
        await().untilAsserted(() -> assertThat(cacheStatus(get("/leave"))).startsWith("portico; hit"));
        assertThat(origin.hits("/leave")).isEqualTo(1);
    }

    @Test
    void pipelinedAndHttp10RequestsAreAnsweredFromTheCacheInOrder() throws Exception {
        start("");
        origin.on("/p1", r -> ScriptedOrigin.Reply.ok("one", "Cache-Control", "max-age=60"));
        origin.on("/p2", r -> ScriptedOrigin.Reply.ok("two", "Cache-Control", "max-age=60"));
        get("/p1");
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /p1 HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\nGET /p2 HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n"
                    + "GET /p1 HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n");
            RawHttp.Response first = raw.read("GET");
            RawHttp.Response second = raw.read("GET");
            RawHttp.Response third = raw.read("GET");
            assertThat(first.text()).isEqualTo("one");
            assertThat(first.header("cache-status")).startsWith("portico; hit");
            assertThat(second.text()).isEqualTo("two");
            assertThat(second.header("cache-status")).contains("fwd=miss");
            assertThat(third.text()).isEqualTo("one");
        }
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /p2 HTTP/1.0\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n");
            RawHttp.Response r = raw.read("GET");
            assertThat(r.statusLine()).startsWith("HTTP/1.1 200");
            assertThat(r.text()).isEqualTo("two");
            assertThat(r.header("content-length")).isEqualTo("3");
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(origin.hits("/p1")).isEqualTo(1);
        assertThat(origin.hits("/p2")).isEqualTo(1);
    }
}
