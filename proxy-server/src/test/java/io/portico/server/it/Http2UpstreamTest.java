package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import io.portico.server.upstream.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * HTTP/1.1 clients through Portico to HTTP/2 backends (h2c and h2 over TLS): multiplexing within
 * the backend's stream limit, flow control with large bodies, translation both ways, GOAWAY,
 * resets, timeouts and a dying backend.
 */
@Timeout(60)
class Http2UpstreamTest {

    private static final String H2C = "    protocol: h2c\n";
    /**
     * Portico's transport in these tests: epoll, because Netty 4.2.18's io_uring loop sometimes never
     * finishes shutting down (IoUringIoHandler.prepareToDestroy waits in io_uring_enter), which hangs
     * a test class that starts and stops Portico twenty times. {@code -Dportico.test.transport=io_uring}
     * runs them on io_uring.
     */
    private static final String TRANSPORT = "transport: " + System.getProperty("portico.test.transport", "epoll") + "\n";

    private static PorticoHarness portico(int port, String upstreamExtra) throws Exception {
        return PorticoHarness.proxyTo(port, upstreamExtra, TRANSPORT);
    }

    /**
     * Portico with one event loop, so that every request shares one connection to the backend,
     * in front of {@code origin} over h2c; {@code upstreamExtra}: more keys of the upstream group.
     */
    private static PorticoHarness oneLoop(H2TestOrigin origin, String upstreamExtra) throws Exception {
        return PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", TRANSPORT + """
                workers: 1
                admin: {enabled: false}
                access_log: {enabled: false}
                listeners: [{name: http, address: "127.0.0.1:0"}]
                upstreams:
                  origin:
                    protocol: h2c
                %s    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(upstreamExtra.isEmpty() ? "" : "    " + upstreamExtra, origin.port()))));
    }

    private static final String FAST_TIMEOUTS =
            "    response_header_timeout: 500ms\n    read_timeout: 500ms\n    connect_timeout: 1s\n";

    @Test
    void proxiesToAnH2cBackendWithPseudoHeadersFromTheRequest() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("h2c", 100);
             PorticoHarness p = portico(origin.port(), H2C)) {
            HttpClient client = PorticoHarness.client();
            HttpResponse<String> hello = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(hello.statusCode()).isEqualTo(200);
            assertThat(hello.body()).isEqualTo("hello from h2c");
            assertThat(hello.headers().firstValue("x-origin")).hasValue("h2c");

            HttpResponse<String> headers = client.send(HttpRequest.newBuilder(p.uri("/headers"))
                    .header("Cookie", "a=1; b=2").header("X-Custom", "yes").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(headers.body())
                    .contains(":method: GET", ":path: /headers", ":scheme: http",
                            ":authority: 127.0.0.1:" + p.port(), "x-custom: yes", "cookie: a=1\n", "cookie: b=2\n",
                            "x-forwarded-for: 127.0.0.1", "via: 1.1 portico")
                    .doesNotContain("connection:", "\nhost:", "keep-alive", "upgrade:", "transfer-encoding:");
        }
    }

    @Test
    void connectionSpecificHeadersAreDroppedAndTeKeptOnlyAsTrailers() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("strip", 100);
             PorticoHarness p = portico(origin.port(), H2C);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /headers HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, X-Hop\r\n"
                    + "X-Hop: gone\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers, deflate\r\n"
                    + "Upgrade: h2c\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).contains(":authority: example.test", "te: trailers\n")
                    .doesNotContain("x-hop", "keep-alive", "proxy-connection", "upgrade", "deflate");
        }
    }

    @Test
    void speaksH2OverTlsNegotiatedByAlpn() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.tls("secure", 100);
             PorticoHarness p = portico(origin.port(), """
                         protocol: h2
                         tls: {enabled: true, ca: %s, sni: localhost}
                     """.formatted(origin.certificate.certificate()))) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/headers")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains(":scheme: https");
            assertThat(origin.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void aTlsBackendThatDoesNotNegotiateH2Gets502() throws Exception {
        io.netty.handler.ssl.util.SelfSignedCertificate cert = new io.netty.handler.ssl.util.SelfSignedCertificate("localhost");
        try (TestOrigin http1Only = new TestOrigin("http1", "127.0.0.1", 0,
                io.netty.handler.ssl.SslContextBuilder.forServer(cert.certificate(), cert.privateKey()).build());
             PorticoHarness p = portico(http1Only.port(), """
                         protocol: h2
                         retry: {attempts: 1}
                         tls: {enabled: true, ca: %s, sni: localhost}
                     """.formatted(cert.certificate()))) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(502);
            await().atMost(Duration.ofSeconds(5)).until(() -> http1Only.openConnections.get() == 0);
        } finally {
            cert.delete();
        }
    }

    @Test
    void manyClientsShareFewConnectionsWithinTheBackendsStreamLimit() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("mux", 10);
             PorticoHarness p = portico(origin.port(), H2C + "    http2: {max_connections: 3}\n")) {
            HttpClient client = PorticoHarness.client();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(p.uri("/slow/100")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> f : all) {
                HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
            assertThat(origin.streams.get()).isEqualTo(200);
            // Two event loops, at most three connections each; each connection full before another opens.
            assertThat(origin.connections.get()).isBetween(3, 6);
            assertThat(origin.maxStreamsOnOneConnection.get()).isEqualTo(10);
        }
    }

    @Test
    void requestsBeyondTheQueueGet503AtOnce() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("full", 1);
             PorticoHarness p = portico(origin.port(),
                     H2C + "    http2: {max_connections: 1, max_pending: 1}\n")) {
            HttpClient client = PorticoHarness.client();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(p.uri("/slow/1000")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0;
            int overflow = 0;
            for (CompletableFuture<HttpResponse<String>> f : all) {
                int status = f.get(30, TimeUnit.SECONDS).statusCode();
                ok += status == 200 ? 1 : 0;
                overflow += status == 503 ? 1 : 0;
            }
            // Five requests on two loops: one loop has three, of which one is in flight, one waits, one is refused.
            assertThat(overflow).isBetween(1, 3);
            assertThat(ok + overflow).isEqualTo(5);
            assertThat(origin.maxStreamsOnOneConnection.get()).isEqualTo(1);
        }
    }

    @Test
    void withNoPendingQueueRequestsStillWaitForTheConnectionOpenedForThem() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("unqueued", 1);
             PorticoHarness p = portico(origin.port(), H2C + "    http2: {max_connections: 2, max_pending: 0}\n");
             RawH2 h2 = new RawH2(p.port())) {
            // max_pending: 0 answers 503 when every stream is busy; a connection on its way is not busy.
            h2.headers(1, RawH2.get("/hello"), true);
            RawH2.Response first = h2.response(1);
            assertThat(first.status()).isEqualTo("200");
            // The one stream the backend allows is taken: the next request gets a second connection.
            h2.headers(3, RawH2.get("/slow/2000"), true);
            await().until(() -> origin.openStreams.get() == 1);
            h2.headers(5, RawH2.get("/hello"), true);
            assertThat(h2.response(5).status()).isEqualTo("200");
            assertThat(origin.connections.get()).isEqualTo(2);
            // Both connections busy and no more allowed: 503 at once.
            h2.headers(7, RawH2.get("/slow/2000"), true);
            await().until(() -> origin.openStreams.get() == 2);
            h2.headers(9, RawH2.get("/hello"), true);
            assertThat(h2.response(9).status()).isEqualTo("503");
        }
    }

    @MeasuresDirectMemory
    @Test
    void largeBodiesPassBothWaysWithBoundedMemory() throws Exception {
        long size = 32L << 20;
        try (H2TestOrigin origin = H2TestOrigin.cleartext("big", 100);
             PorticoHarness p = portico(origin.port(), H2C + "    http2: {initial_window_size: 256k}\n");
             LargeBodyTest.PeakDirectMemory peak = new LargeBodyTest.PeakDirectMemory()) {
            HttpResponse<InputStream> down = PorticoHarness.client().send(
                    HttpRequest.newBuilder(p.uri("/download/" + size)).build(), HttpResponse.BodyHandlers.ofInputStream());
            assertThat(down.statusCode()).isEqualTo(200);
            assertThat(down.headers().firstValueAsLong("content-length")).hasValue(size);
            long total = 0;
            byte[] buf = new byte[64 * 1024];
            try (InputStream in = down.body()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    total += n;
                }
            }
            assertThat(total).isEqualTo(size);

            HttpResponse<String> up = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/upload"))
                    .POST(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                            () -> new LargeBodyTest.ZeroStream(size)), size)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(up.statusCode()).isEqualTo(200);
            assertThat(up.body()).isEqualTo("received " + size);
            assertThat(peak.peak()).isPositive().isLessThan(16L << 20);
        }
    }

    @Test
    void aStalledClientDoesNotStallOtherStreamsOnTheSameConnection() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("stall", 100);
             PorticoHarness p = portico(origin.port(),
                     H2C + "    http2: {max_connections: 1, initial_window_size: 64k}\n");
             RawHttp stalled = new RawHttp(p.port())) {
            // This client asks for 64 MiB and never reads: its stream may fill its window and no more.
            stalled.send("GET /download/67108864 HTTP/1.1\r\nHost: a\r\n\r\n");
            await().until(() -> origin.openStreams.get() == 1);
            HttpClient client = PorticoHarness.client();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
            }
            // Same backend connections throughout (one per event loop at most), the download still open.
            assertThat(origin.connections.get()).isLessThanOrEqualTo(2);
            // The origin counts a /hello stream closed a moment after the client has its answer.
            await().until(() -> origin.openStreams.get() == 1);
        }
    }

    @Test
    void trailersPassBothWays() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("trailers", 100);
             PorticoHarness p = portico(origin.port(), H2C);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response up = raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                    + "TE: trailers\r\n\r\n5\r\nhello\r\n0\r\nX-Digest: abc\r\n\r\n").read();
            assertThat(up.text()).isEqualTo("received 5 trailers x-digest");
            RawHttp.Response down = raw.send("GET /trailers HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n").read();
            assertThat(down.status()).isEqualTo(200);
            assertThat(down.header("transfer-encoding")).isEqualTo("chunked");
            assertThat(down.text()).isEqualTo("body before trailers");
            assertThat(down.trailers()).containsEntry("x-checksum", List.of("done"));
        }
    }

    /** Frames of unknown types from a backend are ignored (RFC 9113 section 5.5); the connection goes on. */
    @Test
    void framesOfUnknownTypesFromTheBackendAreIgnored() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("unknown", 100);
             PorticoHarness p = portico(origin.port(), H2C);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /unknown-frames HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("past unknown frames");
            RawHttp.Response next = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(next.text()).isEqualTo("hello from unknown");
            assertThat(origin.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void earlyHintsReachTheClientBeforeTheResponse() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("hints", 100);
             PorticoHarness p = portico(origin.port(), H2C);
             RawHttp raw = new RawHttp(p.port())) {
            raw.send("GET /early-hints HTTP/1.1\r\nHost: a\r\n\r\n");
            RawHttp.Response hints = raw.read();
            assertThat(hints.status()).isEqualTo(103);
            assertThat(hints.header("link")).isEqualTo("</style.css>; rel=preload; as=style");
            RawHttp.Response r = raw.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("after hints");
        }
    }

    @Test
    void anEmptyResponseGetsContentLengthZero() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("empty", 100);
             PorticoHarness p = portico(origin.port(), H2C);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /empty HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("content-length")).isEqualTo("0");
            assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().text()).isEqualTo("hello from empty");
        }
    }

    @Test
    void aBodyShorterThanItsContentLengthCutsTheResponse() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("short", 100);
             PorticoHarness p = portico(origin.port(), H2C);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /short-body HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).hasSizeLessThan(10);
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void aResponseFieldWithALineBreakGets502() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("inject", 100);
             PorticoHarness p = portico(origin.port(), H2C + "    retry: {attempts: 1}\n");
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /bad-header HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(502);
            assertThat(r.headers()).doesNotContainKey("set-cookie");
        }
    }

    @Test
    void aResetStreamGives502AndTheConnectionServesOthers() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("rst", 100);
             PorticoHarness p = portico(origin.port(), H2C)) {
            HttpClient client = PorticoHarness.client();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("/rst")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(origin.streams.get()).isEqualTo(1);
            HttpResponse<String> next = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(next.statusCode()).isEqualTo(200);
            assertThat(origin.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void aRefusedStreamIsRetriedWhateverTheMethod() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("refuse", 100);
             PorticoHarness p = portico(origin.port(), H2C)) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/refuse-once/post"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(origin.streams.get()).isEqualTo(2);
        }
    }

    @Test
    void aStalledBackendGives504AndItsConnectionLivesOn() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("hang", 100);
             PorticoHarness p = portico(origin.port(), H2C + FAST_TIMEOUTS)) {
            HttpClient client = PorticoHarness.client();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("/hang")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(504);
            // The timed-out stream was reset; the connection is still there for the next request.
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openStreams.get() == 0);
            HttpResponse<String> next = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(next.statusCode()).isEqualTo(200);
            assertThat(origin.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void goAwayMidLoadFailsNoIdempotentRequest() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("goaway", 100);
             PorticoHarness p = portico(origin.port(), H2C)) {
            HttpClient client = PorticoHarness.client();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(p.uri("/slow/3000")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            await().until(() -> origin.openStreams.get() == 60);
            int dropped = origin.goAwayDroppingNewestStreams();
            assertThat(dropped).isPositive();
            for (CompletableFuture<HttpResponse<String>> f : all) {
                HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
            // The dropped streams went again on new connections; the old ones closed once drained.
            assertThat(origin.streams.get()).isEqualTo(60 + dropped);
            assertThat(origin.connections.get()).isGreaterThan(1);
            HttpResponse<String> after = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(after.statusCode()).isEqualTo(200);
        }
    }

    /**
     * A connection that had carried a request and then vanishes without GOAWAY (the backend's
     * process restarted, say): an idempotent request on it goes again on a new connection, as after
     * an HTTP/1.1 keep-alive race; a POST, which the backend may have acted on, gets 502. Both got
     * 502 before.
     */
    @Test
    void aProvenConnectionThatDiesWithoutGoAwayHasItsIdempotentRequestsRetried() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("vanish", 100);
             PorticoHarness p = oneLoop(origin, "")) {
            HttpClient client = PorticoHarness.client();
            assertThat(client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            CompletableFuture<HttpResponse<String>> get = client.sendAsync(
                    HttpRequest.newBuilder(p.uri("/hang-once/get")).build(), HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> post = client.sendAsync(
                    HttpRequest.newBuilder(p.uri("/hang-once/post")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().until(() -> origin.openStreams.get() == 2);
            origin.dropConnections();
            HttpResponse<String> retried = get.get(10, TimeUnit.SECONDS);
            assertThat(retried.statusCode()).isEqualTo(200);
            assertThat(retried.body()).isEqualTo("hello from vanish");
            assertThat(post.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(502);
            assertThat(origin.connections.get()).isEqualTo(2);
        }
    }

    /**
     * Two GETs open streams together on a new connection, which dies without GOAWAY before either is
     * answered: the connection never proved itself (no stream on it had got its response), so this
     * is the backend failing, not a keep-alive race, and neither goes again: both get 502 and no
     * second connection is opened. Once a stream has completed on the next connection, a GET opened
     * after it on that connection is retried when the connection dies, and succeeds. The second of
     * the two first streams counted as reused and went again on a new connection. (Passive health is
     * off, so the backend stays eligible and only "reused" decides whether a request goes again.)
     */
    @Test
    void streamsOpenedTogetherOnANewConnectionThatDiesWithoutGoAwayAreNotRetried() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("fresh", 100);
             PorticoHarness p = oneLoop(origin, "max_fails: 0\n")) {
            HttpClient client = PorticoHarness.client();
            CompletableFuture<HttpResponse<String>> first = client.sendAsync(
                    HttpRequest.newBuilder(p.uri("/hang-once/first")).build(), HttpResponse.BodyHandlers.ofString());
            CompletableFuture<HttpResponse<String>> second = client.sendAsync(
                    HttpRequest.newBuilder(p.uri("/hang-once/second")).build(), HttpResponse.BodyHandlers.ofString());
            await().until(() -> origin.openStreams.get() == 2);
            assertThat(origin.connections.get()).isEqualTo(1);
            origin.dropConnections();
            assertThat(first.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(502);
            assertThat(second.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(502);
            assertThat(origin.streams.get()).isEqualTo(2);
            assertThat(origin.connections.get()).isEqualTo(1);

            // A new connection proves itself with a whole response; a GET after it goes again.
            assertThat(client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            CompletableFuture<HttpResponse<String>> later = client.sendAsync(
                    HttpRequest.newBuilder(p.uri("/hang-once/later")).build(), HttpResponse.BodyHandlers.ofString());
            await().until(() -> origin.openStreams.get() == 1);
            assertThat(origin.connections.get()).isEqualTo(2);
            origin.dropConnections();
            HttpResponse<String> retried = later.get(10, TimeUnit.SECONDS);
            assertThat(retried.statusCode()).isEqualTo(200);
            assertThat(retried.body()).isEqualTo("hello from fresh");
            assertThat(origin.connections.get()).isEqualTo(3);
        }
    }

    @Test
    void aBackendThatDiesFailsItsStreamsAndLeavesNoConnectionBehind() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("dies", 100);
             PorticoHarness p = portico(origin.port(), H2C + "    retry: {attempts: 1}\n")) {
            HttpClient client = PorticoHarness.client();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(p.uri("/hang")).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            await().until(() -> origin.openStreams.get() == 10);
            Backend backend = p.server().upstream("origin").backends().get(0);
            assertThat(backend.openConnections()).isBetween(1, 2);
            origin.dropConnections();
            for (CompletableFuture<HttpResponse<String>> f : all) {
                assertThat(f.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(502);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> backend.openConnections() == 0);
            HttpResponse<String> again = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(again.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void idleConnectionsCloseAfterTheIdleTimeout() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("idle", 100);
             PorticoHarness p = portico(origin.port(), H2C + "    pool: {idle_timeout: 1s}\n")) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(origin.openConnections.get()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 0);
            assertThat(p.server().upstream("origin").backends().get(0).openConnections()).isZero();
        }
    }

    @Test
    void aBackendThatStopsAnsweringPingsIsDisconnected() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartextIgnoringPings("mute");
             PorticoHarness p = portico(origin.port(),
                     H2C + "    retry: {attempts: 1}\n    http2: {ping_interval: 200ms, ping_timeout: 300ms}\n")) {
            long start = System.nanoTime();
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/hang")).build(),
                    HttpResponse.BodyHandlers.ofString());
            // Long before the 60 s response header timeout: the unanswered PING closed the connection.
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 0);
        }
    }

    @Test
    void theAccessLogNamesTheBackendOfEachTryAndTheUpstreamTime(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (H2TestOrigin origin = H2TestOrigin.cleartext("logged", 100);
             PorticoHarness p = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("h2-log.yaml", """
                     workers: 2
                     admin: {address: "127.0.0.1:0"}
                     %s
                     listeners: [{name: http, address: 127.0.0.1:0}]
                     access_log: {enabled: true, path: %s}
                     upstreams:
                       h2:
                         protocol: h2c
                         backends: [{address: 127.0.0.1:%d}]
                     servers: [{routes: [{match: {prefix: /}, upstream: h2}]}]
                     """.formatted(TRANSPORT.trim(), log, origin.port()))))) {
            HttpClient client = PorticoHarness.client();
            client.send(HttpRequest.newBuilder(p.uri("/hello")).build(), HttpResponse.BodyHandlers.ofString());
            client.send(HttpRequest.newBuilder(p.uri("/refuse-once/logged")).build(), HttpResponse.BodyHandlers.ofString());
            String backend = "127.0.0.1:" + origin.port();
            await().until(() -> Files.exists(log) && Files.readAllLines(log).size() == 2);
            List<String> lines = Files.readAllLines(log);
            assertThat(lines.get(0)).contains("\"GET /hello HTTP/1.1\" 200 ", "upstream=" + backend + " upstream_time=0.");
            // The refused stream and its retry, both on the same backend.
            assertThat(lines.get(1)).contains("\" 200 ", "upstream=" + backend + ", " + backend + " upstream_time=");
        }
    }

    @Test
    void aBackendThatDropsNewConnectionsFailsTheWaitersInsteadOfBeingReconnectedToInALoop() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("dropping", 1);
             PorticoHarness p = portico(origin.port(), H2C + "    retry: {attempts: 1}\n    connect_timeout: 3s\n");
             RawH2 h2 = new RawH2(p.port())) {
            // One stream fills the only connection (the backend allows one at a time)...
            h2.headers(1, RawH2.get("/slow/4000"), true);
            await().until(() -> origin.openStreams.get() == 1);
            // ...and the backend takes no more connections: the next request waits for one that fails.
            origin.dropNewConnections();
            long start = System.nanoTime();
            h2.headers(3, RawH2.get("/hello"), true);
            RawH2.Response r = h2.response(3);
            // The failed connect fails the request (as Envoy purges its pending requests), at once,
            // instead of another connect right away, and another, until the queue timeout.
            assertThat(r.status()).isEqualTo("502");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            assertThat(origin.droppedConnections.get()).isLessThanOrEqualTo(2);
            assertThat(h2.response(1).status()).isEqualTo("200");
        }
    }

    @Test
    void aConnectionToldGoAwayDoesNotCountAgainstMaxConnections() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("draining", 100);
             PorticoHarness p = portico(origin.port(), H2C + "    connect_timeout: 1s\n    http2: {max_connections: 1}\n");
             RawH2 h2 = new RawH2(p.port())) {
            h2.headers(1, RawH2.get("/slow/4000"), true);
            await().until(() -> origin.openStreams.get() == 1);
            // A graceful GOAWAY (a backend shutting down): the stream in flight is still answered.
            assertThat(origin.goAwayDroppingNewestStreams()).isZero();
            long start = System.nanoTime();
            h2.headers(3, RawH2.get("/hello"), true);
            RawH2.Response r = h2.response(3);
            // New streams go to a new connection now, not after the old one drained (or 503 when
            // draining takes longer than the queue wait).
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("hello from draining");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            assertThat(origin.connections.get()).isEqualTo(2);
            assertThat(h2.response(1).status()).isEqualTo("200");
            // The old connection closes once its last stream is done.
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 1);
        }
    }

    @Test
    void aDeadBackendGives502() throws Exception {
        int dead = BackendFaultsTest.unusedPort();
        try (PorticoHarness p = portico(dead, H2C)) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(502);
            assertThat(p.server().upstream("origin").backends().get(0).openConnections()).isZero();
        }
    }
}
