package io.portico.server.it;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.config.ConfigLoader;
import io.portico.server.PorticoServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/2 from clients: ALPN h2 over TLS, h2c by upgrade and by prior knowledge, each stream one proxied exchange. */
class Http2ProxyingTest {

    static SelfSignedCertificate cert;
    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new TestOrigin("h2");
        portico = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 2
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                access_log: {enabled: false}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    max_body_size: 0
                    routes: [{match: {prefix: /}, upstream: origin}]
                  - names: [small.test]
                    max_body_size: 1k
                    routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(cert.certificate(), cert.privateKey(), origin.port()))));
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
        cert.delete();
    }

    static int tlsPort() {
        return portico.server().address("https").getPort();
    }

    static HttpClient h2TlsClient() throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Test
    void jdkClientSpeaksHttp2OverTlsAndTheOriginGetsHttp11() throws Exception {
        HttpResponse<String> r = h2TlsClient().send(HttpRequest.newBuilder(
                URI.create("https://localhost:" + tlsPort() + "/headers?x=1")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).startsWith("GET /headers?x=1 HTTP/1.1").contains("host: localhost:" + tlsPort())
                .contains("x-forwarded-proto: https").doesNotContain("x-http2");
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
    }

    @Test
    void jdkClientUpgradesToH2cOnAPlainListener() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> first = client.send(HttpRequest.newBuilder(portico.uri("/hello")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(first.body()).isEqualTo("hello from h2");
        HttpResponse<String> second = client.send(HttpRequest.newBuilder(portico.uri("/headers")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(second.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(second.body()).startsWith("GET /headers HTTP/1.1");
    }

    /** RFC 9110 section 7.8: an Upgrade on an HTTP/1.0 request is ignored; the request is answered as sent. */
    @Test
    void anHttp10RequestAskingForH2cIsAnsweredWithoutTheUpgrade() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /hello HTTP/1.0\r\nHost: localhost\r\n"
                    + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
            assertThat(answer).startsWith("HTTP/1.1 200 ").endsWith("hello from h2");
        }
    }

    /**
     * A client that sends its preface and a request right behind {@code Upgrade: h2c}, without
     * waiting for the 101 (RFC 7540 section 3.5 says to wait), gets both streams answered.
     */
    @Test
    void anH2cUpgradeWithThePrefaceAndARequestRightBehindItServesBothStreams() throws Exception {
        byte[] preface = RawH2.preface();
        byte[] headers = RawH2.headersFrame(3, RawH2.get("/headers"));
        byte[] behind = java.util.Arrays.copyOf(preface, preface.length + headers.length);
        System.arraycopy(headers, 0, behind, preface.length, headers.length);
        RawH2.Upgraded up = RawH2.upgradeWith(portico.port(), "/hello", behind);
        try (RawH2 h2 = up.h2()) {
            assertThat(up.head()).startsWith("HTTP/1.1 101");
            assertThat(h2.response(1).text()).isEqualTo("hello from h2");
            assertThat(h2.response(3).text()).startsWith("GET /headers HTTP/1.1");
        }
    }

    /** Garbage where the preface belongs, right behind the upgrade request: GOAWAY and close, not a hang. */
    @Test
    void garbageBehindAnH2cUpgradeEndsTheConnection() throws Exception {
        RawH2.Upgraded up = RawH2.upgradeWith(portico.port(), "/hello",
                "GARBAGE GARBAGE GARBAGE\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        try (RawH2 h2 = up.h2()) {
            assertThat(up.head()).startsWith("HTTP/1.1 101");
            assertThat(h2.awaitGoAway().errorCode()).as("PROTOCOL_ERROR").isEqualTo(PROTOCOL_ERROR);
        }
    }

    @Test
    void priorKnowledgeH2cIsServed() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/hello"), true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("hello from h2");
        }
    }

    static final int PROTOCOL_ERROR = 0x1;
    static final int REFUSED_STREAM = 0x7;

    @Test
    void pseudoHeadersBecomeTheRequestLineAndCookiesAreJoined() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/headers?q=1").add("cookie", "a=1").add("cookie", "b=2").add("te", "trailers"), true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).startsWith("GET /headers?q=1 HTTP/1.1").contains("host: localhost\n")
                    .contains("cookie: a=1; b=2\n").doesNotContain("te: ");
        }
    }

    @Test
    void aHostThatDisagreesWithAuthorityGets400() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/hello").add("host", "elsewhere.example"), true);
            assertThat(h2.response(1).status()).isEqualTo("400");
            // The connection goes on.
            h2.headers(3, RawH2.get("/hello").add("host", "LOCALHOST"), true);
            assertThat(h2.response(3).status()).isEqualTo("200");
        }
    }

    @Test
    void connectionSpecificFieldsAndTeOtherThanTrailersResetTheStream() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            String[][] bad = {{"connection", "keep-alive"}, {"keep-alive", "timeout=5"},
                    {"proxy-connection", "keep-alive"}, {"transfer-encoding", "chunked"}, {"upgrade", "websocket"},
                    {"te", "gzip"}};
            int stream = 1;
            for (String[] field : bad) {
                h2.headers(stream, RawH2.get("/hello").add(field[0], field[1]), true);
                assertThat(h2.response(stream).resetCode()).as(field[0]).isEqualTo(PROTOCOL_ERROR);
                stream += 2;
            }
            h2.headers(stream, RawH2.get("/hello"), true);
            assertThat(h2.response(stream).text()).isEqualTo("hello from h2");
        }
    }

    @Test
    void aPathThatIsNotAnAbsolutePathResetsTheStreamAndNeverReachesTheOrigin() throws Exception {
        int before = origin.requests.get();
        try (RawH2 h2 = new RawH2(portico.port())) {
            // Whitespace or a fragment an HTTP/1.1 request line could be split on, and the absolute
            // form, whose authority would route past :authority.
            String[] bad = {"/a b", "/a\tb", "/x#frag", "http://elsewhere.example/hello", "hello", "*"};
            int stream = 1;
            for (String path : bad) {
                h2.headers(stream, RawH2.get(path), true);
                assertThat(h2.response(stream).resetCode()).as(path).isEqualTo(PROTOCOL_ERROR);
                stream += 2;
            }
            h2.headers(stream, RawH2.get("/hello"), true);
            assertThat(h2.response(stream).text()).isEqualTo("hello from h2");
        }
        assertThat(origin.requests.get() - before).as("requests the origin saw").isEqualTo(1);
    }

    /** RFC 9113 section 8.3.1: a request without :scheme (CONNECT aside) is malformed and must not be forwarded. */
    @Test
    void aRequestWithoutSchemeResetsTheStreamAndNeverReachesTheOrigin() throws Exception {
        int before = origin.requests.get();
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers(false).method("GET").path("/hello")
                    .authority("localhost"), true);
            assertThat(h2.response(1).resetCode()).isEqualTo(PROTOCOL_ERROR);
            // An empty one is no scheme either.
            h2.headers(3, RawH2.get("/hello").scheme(""), true);
            assertThat(h2.response(3).resetCode()).isEqualTo(PROTOCOL_ERROR);
            h2.headers(5, RawH2.get("/hello"), true);
            assertThat(h2.response(5).text()).isEqualTo("hello from h2");
        }
        assertThat(origin.requests.get() - before).as("requests the origin saw").isEqualTo(1);
    }

    /**
     * Netty's codec finds a content-length mismatch itself and hands the stream error to the
     * stream's handlers: a malformed request is the client's fault and is counted, not logged as
     * a server warning with a stack trace (one per stream an attacker sends).
     */
    @Test
    void aStreamErrorTheCodecFindsIsNotLoggedAsAWarning() throws Exception {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger("portico");
        java.util.List<java.util.logging.LogRecord> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
                    warnings.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(capture);
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("content-length", "10"), false);
            h2.data(1, new byte[5], true);
            assertThat(h2.response(1).resetCode()).isEqualTo(PROTOCOL_ERROR);
            // The connection's event loop has finished with stream 1 once stream 3 is answered.
            h2.headers(3, RawH2.get("/hello"), true);
            assertThat(h2.response(3).text()).isEqualTo("hello from h2");
        } finally {
            log.removeHandler(capture);
        }
        assertThat(warnings).extracting(java.util.logging.LogRecord::getMessage).isEmpty();
    }

    @Test
    void dataThatDisagreesWithContentLengthResetsTheStreamAndNeverCompletesUpstream() throws Exception {
        int before = origin.requests.get();
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("content-length", "10"), false);
            h2.data(1, new byte[5], true);
            assertThat(h2.response(1).resetCode()).isEqualTo(PROTOCOL_ERROR);
            h2.headers(3, RawH2.request("POST", "/upload").add("content-length", "3"), false);
            h2.data(3, new byte[5], true);
            assertThat(h2.response(3).resetCode()).isEqualTo(PROTOCOL_ERROR);
            h2.headers(5, RawH2.request("POST", "/upload").add("content-length", "5"), false);
            h2.data(5, new byte[5], true);
            RawH2.Response ok = h2.response(5);
            assertThat(ok.text()).isEqualTo("received 5");
        }
        // The origin answered only the well-formed upload (the others never reached their end).
        assertThat(origin.requests.get() - before).isLessThanOrEqualTo(3);
    }

    @Test
    void trailersPassBothWays() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            h2.data(1, new byte[1000], false);
            h2.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().add("x-sum", "42"), true);
            assertThat(h2.response(1).text()).isEqualTo("received 1000 trailers [x-sum]");

            h2.headers(3, RawH2.get("/chunked/5000"), true);
            RawH2.Response r = h2.response(3);
            assertThat(r.body()).hasSize(5000);
            assertThat(r.trailers()).isNotNull();
            assertThat(r.trailers().get("x-checksum").toString()).isEqualTo("done");
        }
    }

    /** RFC 9110 section 6.5.1: framing, routing and request-modifier fields in trailers are dropped, not sent upstream. */
    @Test
    void requestTrailersLoseTheFieldsATrailerMustNotCarry() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            h2.data(1, new byte[1000], false);
            h2.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().add("x-sum", "42")
                    .add("host", "elsewhere.test").add("authorization", "Basic Zm9vOmJhcg==").add("te", "trailers")
                    .add("content-length", "5").add("trailer", "x-sum"), true);
            assertThat(h2.response(1).text()).isEqualTo("received 1000 trailers [x-sum]");
        }
    }

    /**
     * Expect: 100-continue (RFC 9110 section 10.1.1) over HTTP/2: Portico asks for the body with a
     * 100 HEADERS frame, as it does over HTTP/1.1; a client that waits for it before sending must
     * get it.
     */
    @Test
    void expectContinueGetsA100BeforeTheBodyIsSent() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("expect", "100-continue").add("content-length", "5"), false);
            RawH2.Frame f;
            do {
                f = h2.next();
                assertThat(f).as("the connection stayed open").isNotNull();
                assertThat(f.type()).as("no reset, no GOAWAY").isNotIn(RawH2.RST_STREAM, RawH2.GOAWAY);
            } while (f.type() != RawH2.HEADERS);
            assertThat(f.stream()).isEqualTo(1);
            assertThat(h2.headersOf(f).status().toString()).isEqualTo("100");
            assertThat(f.flags() & RawH2.END_STREAM).as("not the end of the stream").isZero();
            h2.data(1, new byte[5], true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("received 5");
        }
    }

    @Test
    void earlyHintsArePassedOnBeforeTheResponse() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/early-hints"), true);
            RawH2.Response r = h2.response(1);
            assertThat(r.informational()).containsExactly("103");
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("after hints");
        }
    }

    @Test
    void aHundredAndTwentyEightConcurrentStreamsOnOneConnectionAllSucceed() throws Exception {
        // The JDK client itself refuses to go past the server's MAX_CONCURRENT_STREAMS (128);
        // streamsBeyondMaxConcurrentStreamsAreRefused covers a client that does.
        HttpClient client = h2TlsClient();
        // One request first, so that the connection exists and every stream below shares it.
        client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + tlsPort() + "/hello")).build(),
                HttpResponse.BodyHandlers.discarding());
        java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
        for (int i = 0; i < 128; i++) {
            all.add(client.sendAsync(HttpRequest.newBuilder(URI.create("https://localhost:" + tlsPort() + "/hello"))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (var f : all) {
            HttpResponse<String> r = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(r.body()).isEqualTo("hello from h2");
        }
    }

    @Test
    void streamsBeyondMaxConcurrentStreamsAreRefused() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            // /hang never answers, so the first 128 streams stay open.
            for (int i = 0; i < 130; i++) {
                h2.headers(1 + 2 * i, RawH2.get("/hang"), true);
            }
            assertThat(h2.response(1 + 2 * 128).resetCode()).isEqualTo(REFUSED_STREAM);
            assertThat(h2.response(1 + 2 * 129).resetCode()).isEqualTo(REFUSED_STREAM);
        }
    }

    @MeasuresDirectMemory
    @Test
    void largeBodiesStreamBothWaysUnderFlowControl() throws Exception {
        long size = 64L << 20;
        HttpClient client = h2TlsClient();
        try (LargeBodyTest.PeakDirectMemory peak = new LargeBodyTest.PeakDirectMemory()) {
            HttpResponse<String> up = client.send(HttpRequest.newBuilder(
                            URI.create("https://localhost:" + tlsPort() + "/upload"))
                    .POST(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                            () -> new LargeBodyTest.ZeroStream(size)), size)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(up.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(up.body()).isEqualTo("received " + size);

            HttpResponse<java.io.InputStream> down = client.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + tlsPort() + "/download/" + size)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            long n = 0;
            try (java.io.InputStream in = down.body()) {
                byte[] buf = new byte[65536];
                int r;
                while ((r = in.read(buf)) > 0) {
                    n += r;
                }
            }
            assertThat(n).isEqualTo(size);
            // Flow control keeps Portico's buffers to a few windows, not the 64 MiB bodies.
            assertThat(peak.peak()).isLessThan(24L << 20);
        }
    }

    @Test
    void aRefusedUploadGets413AndTheClientIsToldToStopWithoutError() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload").authority("small.test").add("content-length", "5000"), false);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("413");
            RawH2.Frame f;
            do {
                f = h2.next();
            } while (f.type() != RawH2.RST_STREAM);
            assertThat(f.stream()).isEqualTo(1);
            assertThat(f.errorCode()).as("NO_ERROR").isZero();
        }
    }

    /**
     * A connection window smaller than all the streams' windows together lets uploads stalled on
     * slow upstreams hold back the others: said at start-up, as the config reference advises.
     */
    @Test
    void aConnectionWindowSmallerThanAllTheStreamWindowsIsWarnedAbout() throws Exception {
        String servers = """
                servers:
                  - routes:
                      - match: { prefix: / }
                        respond: { body: "here" }
                """;
        try (PorticoHarness tight = PorticoHarness.start(servers, """
                    http2: {max_concurrent_streams: 256}
                """); PorticoHarness fine = PorticoHarness.start(servers)) {
            assertThat(tight.server().warnings()).anyMatch(w -> w.startsWith(
                    "listener http: http2.connection_window_size (8388608 bytes) is less than max_concurrent_streams x"
                            + " initial_window_size (16777216 bytes)"));
            assertThat(fine.server().warnings()).noneMatch(w -> w.contains("connection_window_size"));
        }
    }
}
