package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A HEAD that misses fills the cache with a GET (nginx's proxy_cache_convert_head), and the access
 * log says what the cache did for every request (nginx's $upstream_cache_status).
 */
class CacheHeadAndLogTest {

    @TempDir
    Path dir;
    private Path logFile;
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
        origin = new ScriptedOrigin();
        logFile = dir.resolve("access.log");
        portico = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("cache-log.yaml", """
                workers: 2
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                access_log:
                  enabled: true
                  path: %s
                  format: '$request_method $request_uri $status $upstream_cache_status'
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - default: true
                    routes:
                      - match: { prefix: /plain/ }
                        upstream: origin
                      - match: { prefix: / }
                        upstream: origin
                        cache:
                          enabled: true
                %s
                """.formatted(logFile, origin.port(), cacheExtra.indent(10)))));
    }

    private HttpResponse<String> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(portico.uri(path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private List<String> awaitLines(int n) throws IOException {
        await().atMost(Duration.ofSeconds(5)).until(() -> Files.exists(logFile) && Files.readAllLines(logFile).size() >= n);
        List<String> lines = Files.readAllLines(logFile);
        assertThat(lines).hasSize(n);
        return lines;
    }

    @Test
    void aHeadMissIsFetchedAsGetSoTheNextGetIsAHit() throws Exception {
        start("");
        origin.on("/doc", r -> ScriptedOrigin.Reply.ok("0123456789", "Cache-Control", "max-age=60", "ETag", "\"d1\""));

        HttpResponse<String> head = send("HEAD", "/doc");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("content-length")).hasValue("10");
        assertThat(head.headers().firstValue("etag")).hasValue("\"d1\"");
        assertThat(head.body()).isEmpty();
        assertThat(head.headers().firstValue("cache-status")).hasValue("portico; fwd=miss; fwd-status=200; stored");

        HttpResponse<String> get = send("GET", "/doc");
        assertThat(get.body()).isEqualTo("0123456789");
        assertThat(get.headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        assertThat(origin.requestLines).containsExactly("GET /doc");
        // The connection stayed usable after the converted HEAD: one more request on it is a hit too.
        assertThat(send("HEAD", "/doc").headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        assertThat(awaitLines(3)).containsExactly("HEAD /doc 200 MISS", "GET /doc 200 HIT", "HEAD /doc 200 HIT");
    }

    @Test
    void aHeadIsAnsweredWithoutWaitingForTheBodyItFills() throws Exception {
        start("");
        java.util.concurrent.CompletableFuture<Void> gate = new java.util.concurrent.CompletableFuture<>();
        String body = "A".repeat(5_000) + "B".repeat(5_000);
        origin.on("/slow", r -> ScriptedOrigin.Reply.ok(body, "Cache-Control", "max-age=60").gated(gate));

        // The origin holds back the second half of the body: the HEAD is answered anyway.
        HttpResponse<String> head = send("HEAD", "/slow");
        assertThat(head.headers().firstValue("content-length")).hasValue("10000");
        assertThat(gate).isNotDone();
        // A GET meanwhile reads the object the HEAD's fetch is still filling.
        java.util.concurrent.CompletableFuture<HttpResponse<String>> get = client.sendAsync(
                HttpRequest.newBuilder(portico.uri("/slow")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        gate.complete(null);
        assertThat(get.get().body()).isEqualTo(body);
        assertThat(send("GET", "/slow").headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        assertThat(origin.requestLines).containsExactly("GET /slow");
    }

    @Test
    void aHeadOfAnUncacheableResponseDoesNotWaitForItsBody() throws Exception {
        start("");
        // The body is held back: a HEAD answer that waited for it would time out.
        java.util.concurrent.CompletableFuture<Void> never = new java.util.concurrent.CompletableFuture<>();
        origin.on("/private", r -> ScriptedOrigin.Reply.ok("x".repeat(10_000), "Cache-Control", "private").gated(never));

        HttpResponse<String> head = send("HEAD", "/private");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("content-length")).hasValue("10000");
        assertThat(head.body()).isEmpty();
        assertThat(head.headers().firstValue("cache-status").orElse("")).contains("fwd=miss", "detail=private");
        assertThat(origin.requestLines).containsExactly("GET /private");
        assertThat(awaitLines(1)).containsExactly("HEAD /private 200 MISS");
    }

    @Test
    void withConvertHeadOffAHeadGoesUpstreamAsHeadAndIsNotStored() throws Exception {
        start("convert_head: false");
        origin.on("/doc", r -> ScriptedOrigin.Reply.ok("0123456789", "Cache-Control", "max-age=60"));

        HttpResponse<String> head = send("HEAD", "/doc");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("cache-status")).hasValue("portico; fwd=method");
        HttpResponse<String> get = send("GET", "/doc");
        assertThat(get.headers().firstValue("cache-status").orElse("")).startsWith("portico; fwd=miss");
        assertThat(origin.requestLines).containsExactly("HEAD /doc", "GET /doc");
        assertThat(awaitLines(2)).containsExactly("HEAD /doc 200 BYPASS", "GET /doc 200 MISS");
    }

    @Test
    void theAccessLogNamesEachCacheOutcome() throws Exception {
        start("");
        origin.on("/page", r -> ScriptedOrigin.Reply.ok("page", "Cache-Control", "max-age=60"));
        origin.on("/old", r -> ScriptedOrigin.Reply.ok("old", "Cache-Control", "max-age=0", "ETag", "\"o1\""));
        origin.on("/gone", r -> ScriptedOrigin.Reply.ok("gone", "Cache-Control", "max-age=0"));
        origin.on("/plain/x", r -> ScriptedOrigin.Reply.ok("plain"));

        send("GET", "/page");
        send("GET", "/page");
        send("POST", "/page");
        send("GET", "/page", "Cache-Control", "no-store");
        send("GET", "/old");
        // Stored with max-age=0 and an ETag: the next request revalidates; the origin's 200 replaces it.
        send("GET", "/old");
        origin.on("/old", r -> r.headers().contains("If-None-Match")
                ? ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=60", "ETag", "\"o1\"")
                : ScriptedOrigin.Reply.ok("old", "Cache-Control", "max-age=0", "ETag", "\"o1\""));
        HttpResponse<String> revalidated = send("GET", "/old");
        assertThat(revalidated.body()).isEqualTo("old");
        send("GET", "/plain/x");

        assertThat(awaitLines(8)).containsExactly(
                "GET /page 200 MISS",
                "GET /page 200 HIT",
                "POST /page 200 BYPASS",
                "GET /page 200 BYPASS",
                "GET /old 200 MISS",
                "GET /old 200 EXPIRED",
                "GET /old 200 REVALIDATED",
                "GET /plain/x 200 -");
    }
}
