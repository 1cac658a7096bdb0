package io.portico.server.it;

import io.netty.handler.codec.http2.Http2Headers;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The rules an HTTP/1.1 request lives under, applied to each HTTP/2 stream as to each HTTP/3 one
 * ({@link Http3StreamRulesTest}): body_timeout and min_body_rate (408 on the stream, the
 * connection's other streams carry on), and an access-log line for the 431 a header list too large
 * is answered with.
 */
class Http2StreamRulesTest {

    static final int NO_ERROR = 0x0;
    static final int ENHANCE_YOUR_CALM = 0xb;

    @TempDir
    Path dir;
    private ScriptedOrigin origin;
    private PorticoServer server;
    private Path log;

    @BeforeEach
    void start() throws Exception {
        origin = new ScriptedOrigin();
        origin.on("/hi", r -> ScriptedOrigin.Reply.ok("hi"));
        origin.on("/upload", r -> ScriptedOrigin.Reply.ok("stored"));
        log = dir.resolve("access.log");
        start("{body_timeout: 1s}");
    }

    /** Portico with {@code http} as the listener's http settings, in front of {@link #origin}. */
    private void start(String http) throws Exception {
        if (server != null) {
            server.close();
        }
        // stream_idle_timeout far beyond body_timeout: a 408 can only come from the latter.
        server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                    http: %s
                    http2: {max_header_list_size: 4k, stream_idle_timeout: 30s}
                access_log: {enabled: true, path: %s}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(http, log, origin.port())));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    private int port() {
        return server.address("http").getPort();
    }

    /** Waits for exactly {@code n} lines and returns them. */
    private List<String> awaitLines(int n) throws IOException {
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && Files.readAllLines(log).size() >= n);
        server.accessLog().flush();
        List<String> lines = Files.readAllLines(log);
        assertThat(lines).hasSize(n);
        return lines;
    }

    /**
     * A stream whose body stops coming while Portico asks for it is answered 408 at body_timeout,
     * as an HTTP/1.1 request (and an HTTP/3 stream) is; before, it waited for stream_idle_timeout
     * and was reset without an answer. The connection's other streams are served meanwhile and after.
     */
    /**
     * A request that reaches its content-length before END_STREAM waits for it: forwarded at once,
     * the upstream had a whole request and answered it, while the client, whose stream then went
     * on (one more DATA frame), was told it was malformed (RFC 9113 section 8.1.1), and could retry
     * a POST that had run. Found by a black-box probe.
     */
    @Test
    void aRequestThatReachesItsLengthBeforeItsEndIsCompletedUpstreamOnlyAtTheEnd() throws Exception {
        byte[] hello = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (RawH2 h2 = new RawH2(port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("content-length", "0"), false);
            h2.data(1, hello, true);
            assertThat(h2.response(1).resetCode()).isEqualTo(Http2AbuseTest.PROTOCOL_ERROR);
            h2.headers(3, RawH2.request("POST", "/upload").add("content-length", "5"), false);
            h2.data(3, hello, false);
            h2.data(3, new byte[] {'x'}, true);
            assertThat(h2.response(3).resetCode()).isEqualTo(Http2AbuseTest.PROTOCOL_ERROR);
            // Well-formed: the length, then an empty DATA with END_STREAM; and no bytes, then the end.
            h2.headers(5, RawH2.request("POST", "/upload").add("content-length", "5"), false);
            h2.data(5, hello, false);
            h2.data(5, new byte[0], true);
            assertThat(h2.response(5).status()).isEqualTo("200");
            h2.headers(7, RawH2.request("POST", "/upload").add("content-length", "0"), false);
            h2.data(7, new byte[0], true);
            assertThat(h2.response(7).status()).isEqualTo("200");
        }
        assertThat(origin.hits("/upload")).isEqualTo(2);
    }

    @Test
    void aBodyThatStallsGets408AfterBodyTimeoutWhileOtherStreamsAreServed() throws Exception {
        try (RawH2 h2 = new RawH2(port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("content-length", "100"), false);
            h2.data(1, new byte[10], false);
            h2.headers(3, RawH2.get("/hi"), true);
            RawH2.Response other = h2.response(3);
            assertThat(other.status()).isEqualTo("200");
            assertThat(other.text()).isEqualTo("hi");

            RawH2.Response stalled = h2.response(1);
            assertThat(stalled.status()).isEqualTo("408");
            assertThat(stalled.resetCode()).isNull();
            // Then the client is told to stop sending, without an error: it keeps the 408.
            RawH2.Frame rst;
            do {
                rst = h2.next();
            } while (rst != null && !(rst.type() == RawH2.RST_STREAM && rst.stream() == 1));
            assertThat(rst).isNotNull();
            assertThat(rst.errorCode()).isEqualTo(NO_ERROR);

            h2.headers(5, RawH2.get("/hi"), true);
            assertThat(h2.response(5).status()).as("the connection still serves").isEqualTo("200");
        }
        assertThat(origin.hits("/upload")).isZero();
        List<String> lines = awaitLines(3);
        assertThat(lines.get(0)).contains("\"GET /hi HTTP/2.0\" 200 ");
        assertThat(lines.get(1)).contains("\"POST /upload HTTP/2.0\" 408 ").endsWith(" error=client_body_timeout");
        assertThat(lines.get(2)).contains("\"GET /hi HTTP/2.0\" 200 ");
    }

    /**
     * A body that keeps coming, but below min_body_rate, is answered 408 once body_timeout's grace
     * has passed, as on HTTP/1.1 and HTTP/3, though no gap between its DATA frames nears body_timeout.
     */
    @Test
    void aBodyCrawlingBelowMinBodyRateGets408ThoughNoGapReachesBodyTimeout() throws Exception {
        start("{body_timeout: 700ms, min_body_rate: 1k}");
        try (RawH2 h2 = new RawH2(port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("content-length", "100000"), false);
            long start = System.nanoTime();
            AtomicBoolean answered = new AtomicBoolean();
            // 10 bytes every 100 ms is 100 B/s, far below 1k a second.
            CompletableFuture<Void> crawl = Pace.every(Duration.ofMillis(100), () -> {
                if (answered.get()) {
                    return false;
                }
                h2.data(1, new byte[10], false);
                return true;
            });
            RawH2.Response r = h2.response(1);
            answered.set(true);
            assertThat(r.status()).isEqualTo("408");
            assertThat((System.nanoTime() - start) / 1_000_000).isBetween(600L, 4000L);
            crawl.get(5, TimeUnit.SECONDS);
        }
        assertThat(origin.hits("/upload")).isZero();
        assertThat(awaitLines(1).get(0)).contains("\"POST /upload HTTP/2.0\" 408 ")
                .endsWith(" error=client_body_too_slow");
    }

    /** The same without content-length: the body goes upstream chunked, and stalls all the same. */
    @Test
    void aChunkedBodyThatStallsGets408Too() throws Exception {
        try (RawH2 h2 = new RawH2(port())) {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            h2.data(1, new byte[10], false);
            assertThat(h2.response(1).status()).isEqualTo("408");
        }
        assertThat(awaitLines(1).get(0)).contains("\"POST /upload HTTP/2.0\" 408 ")
                .endsWith(" error=client_body_timeout");
        assertThat(origin.hits("/upload")).isZero();
    }

    /**
     * A header list over max_header_list_size is answered 431 by Netty's codec (the connection then
     * ends with GOAWAY: the client ignored Portico's SETTINGS); it left no access-log line, while
     * HTTP/1.1 and HTTP/3 log theirs.
     */
    @Test
    void aHeaderListTooLargeIsAnswered431AndLogged() throws Exception {
        try (RawH2 h2 = new RawH2(port())) {
            Http2Headers big = RawH2.get("/hi");
            for (int i = 0; i < 5; i++) {
                big.add("x-big-" + i, "v".repeat(900));
            }
            byte[] block = h2.block(big);
            // Under the hard limit on a header block's bytes (1.25 × 4 KiB), over the decoded limit.
            assertThat(block.length).isLessThan(5 * 1024);
            h2.frame(RawH2.HEADERS, RawH2.END_STREAM | RawH2.END_HEADERS, 1, block);
            assertThat(h2.response(1).status()).isEqualTo("431");
            assertThat(h2.awaitGoAway().errorCode()).isEqualTo(ENHANCE_YOUR_CALM);
        }
        assertThat(awaitLines(1).get(0)).contains("\"HTTP/2.0\" 431 0 ").contains(" listener=http ")
                .containsPattern(" request_id=[0-9a-f]{32} ").endsWith(" error=header_list_too_large");
        assertThat(origin.hits("/hi")).isZero();
    }
}
