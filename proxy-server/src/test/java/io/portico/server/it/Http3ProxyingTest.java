package io.portico.server.it;

import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * HTTP/3 from clients: Netty's QUIC + HTTP/3 client against a TLS listener with {@code http3}
 * on, every request stream one exchange through the same routing, cache and pools as HTTP/1.1.
 */
class Http3ProxyingTest {

    static SelfSignedCertificate cert;
    static TestOrigin origin;
    static ScriptedOrigin scripted;
    static int deadPort;
    static PorticoHarness portico;
    static H3Client h3;

    @BeforeAll
    static void start() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new TestOrigin("h3");
        scripted = new ScriptedOrigin();
        scripted.on("/scripted/alt", r -> ScriptedOrigin.Reply.ok("own", "Alt-Svc", "h3=\":9443\"; ma=60"));
        scripted.on("/cached/page", r -> ScriptedOrigin.Reply.ok("cached body", "Cache-Control", "max-age=60"));
        scripted.on("/cached/alt", r -> ScriptedOrigin.Reply.ok("own", "Cache-Control", "max-age=60",
                "Alt-Svc", "h3=\":9443\"; ma=60"));
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        portico = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", config(""))));
        h3 = new H3Client(h3Port(), cert.cert());
    }

    /**
     * An HTTP/1.1 connection that parks between requests gets its HTTP handlers back in front of
     * the Alt-Svc handler: its later answers advertise HTTP/3 as its first did.
     */
    @Test
    void aParkedHttp11ConnectionKeepsAdvertisingHttp3() throws Exception {
        String expected = "h3=\":" + h3Port() + "\"; ma=86400";
        long parkedBefore = portico.server().lifecycle().parkedConnections();
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://localhost:" + tcpPort() + "/hello")).build();
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().allValues("alt-svc")).as("answer %d", i).containsExactly(expected);
            // The one connection parks after each answer (the count would be 2 for a second connection).
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> portico.server().lifecycle().parkedConnections() == parkedBefore + 1);
        }
    }

    static String config(String extraRoutes) {
        return """
                workers: 2
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                    http3: {enabled: true}
                access_log: {enabled: false}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                  scripted:
                    backends: [{address: "127.0.0.1:%d"}]
                  dead:
                    backends: [{address: "127.0.0.1:%d"}]
                    max_fails: 0
                servers:
                  - default: true
                    max_body_size: 0
                    routes:
                %s
                      - {match: {prefix: /cached/}, upstream: scripted, cache: {enabled: true}}
                      - {match: {prefix: /dead/}, upstream: dead}
                      - {match: {prefix: /scripted/}, upstream: scripted}
                      - {match: {prefix: /}, upstream: origin}
                """.formatted(cert.certificate(), cert.privateKey(), origin.port(), scripted.port(), deadPort,
                extraRoutes.indent(6).stripTrailing());
    }

    @AfterAll
    static void stop() {
        if (h3 != null) {
            h3.close();
        }
        portico.close();
        origin.close();
        scripted.close();
        cert.delete();
    }

    static int tcpPort() {
        return portico.server().address("https").getPort();
    }

    static int h3Port() {
        return portico.server().http3Address("https").getPort();
    }

    @Test
    void theUdpSideListensOnTheTcpSidesPort() {
        assertThat(h3Port()).isEqualTo(tcpPort());
    }

    @Test
    void getReachesTheOriginAsHttp11WithForwardingHeadersAndNoBody() throws Exception {
        H3Client.Response r = h3.get("/headers?x=1");
        assertThat(r.status()).as(r::describe).isEqualTo(200);
        assertThat(r.body()).startsWith("GET /headers?x=1 HTTP/1.1").contains("host: " + h3.authority)
                .contains("x-forwarded-proto: https").contains("via: ")
                // The FIN came with the head: no chunked empty body on the way to the origin.
                .doesNotContain("transfer-encoding");
        assertThat(r.header("x-request-id")).isNotBlank();
        assertThat(r.header("alt-svc")).as("not advertised over h3 itself").isNull();
    }

    @Test
    void postBodiesReachTheOriginWithAndWithoutContentLength() throws Exception {
        byte[] body = "hello over quic".getBytes(StandardCharsets.UTF_8);
        Http3Headers sized = h3.headers("POST", "/upload");
        sized.setInt("content-length", body.length);
        H3Client.Response withLength = h3.send(sized, body);
        assertThat(withLength.status()).isEqualTo(200);
        assertThat(withLength.body()).isEqualTo("received " + body.length);

        H3Client.Response unsized = h3.send(h3.headers("POST", "/upload"), body);
        assertThat(unsized.status()).isEqualTo(200);
        assertThat(unsized.body()).isEqualTo("received " + body.length);
        assertThat(origin.lastHead().headers().get("transfer-encoding")).isEqualTo("chunked");
    }

    @Test
    void aCachedResponseIsAHitOverHttp3() throws Exception {
        H3Client.Response first = h3.get("/cached/page");
        H3Client.Response second = h3.get("/cached/page");
        assertThat(first.body()).isEqualTo("cached body");
        assertThat(first.header("cache-status")).contains("fwd=miss").contains("stored");
        assertThat(second.body()).isEqualTo("cached body");
        assertThat(second.header("cache-status")).startsWith("portico; hit");
        assertThat(scripted.hits("/cached/page")).isEqualTo(1);
    }

    @Test
    void thirtyTwoMebibytesGoUpAndComeDownUnderFlowControl() throws Exception {
        long size = 32L << 20;
        Http3Headers up = h3.headers("POST", "/upload-big");
        up.set("content-length", Long.toString(size));
        H3Client.Response uploaded = h3.send(up, size, null);
        assertThat(uploaded.status()).as(uploaded::describe).isEqualTo(200);
        assertThat(uploaded.body()).isEqualTo("received " + size);

        H3Client.Response downloaded = h3.get("/download/" + size);
        assertThat(downloaded.status()).isEqualTo(200);
        assertThat(downloaded.bodyBytes).isEqualTo(size);
        assertThat(downloaded.error).isNull();
    }

    @Test
    void tcpAnswersAdvertiseHttp3OverHttp11AndHttp2() throws Exception {
        String expected = "h3=\":" + h3Port() + "\"; ma=86400";
        for (HttpClient.Version v : new HttpClient.Version[] {HttpClient.Version.HTTP_1_1, HttpClient.Version.HTTP_2}) {
            HttpClient client = HttpClient.newBuilder().version(v)
                    .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + tcpPort() + "/hello")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.version()).isEqualTo(v);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().allValues("alt-svc")).containsExactly(expected);
        }
    }

    @Test
    void aRequestWithoutPathIsResetAndNeverReachesTheOrigin() throws Exception {
        int before = origin.requests.get();
        Http3Headers noPath = H3Client.unvalidated().method("GET").scheme("https").authority(h3.authority);
        H3Client.Response r = h3.send(noPath, null);
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    /** RFC 9114 section 4.3.1: a request other than CONNECT without :scheme, or with a bad one, is malformed. */
    @Test
    void aRequestWithoutOrWithABadSchemeIsResetAndNeverReachesTheOrigin() throws Exception {
        int before = origin.requests.get();
        Http3Headers noScheme = H3Client.unvalidated().method("GET").path("/hello").authority(h3.authority);
        H3Client.Response r = h3.send(noScheme, null);
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        Http3Headers badScheme = H3Client.unvalidated().method("GET").scheme("1ttp").path("/hello")
                .authority(h3.authority);
        H3Client.Response bad = h3.send(badScheme, null);
        assertThat(bad.status()).as(bad::describe).isEqualTo(-1);
        assertThat(bad.resetCode).as(bad::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aConnectionSpecificFieldIsResetAndNeverReachesTheOrigin() throws Exception {
        int before = origin.requests.get();
        Http3Headers h = h3.headers("GET", "/hello");
        h.add("connection", "keep-alive");
        H3Client.Response r = h3.send(h, null);
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aBodyShorterThanItsContentLengthIsResetAndNeverCompletesUpstream() throws Exception {
        int before = origin.completeRequests.get();
        Http3Headers h = h3.headers("POST", "/upload");
        h.setInt("content-length", 10);
        H3Client.Response r = h3.send(h, "short".getBytes(StandardCharsets.US_ASCII));
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        assertThat(origin.completeRequests.get()).isEqualTo(before);
    }

    /** RFC 9114 section 4.1.2: a content-length that is not one non-negative number makes the request malformed. */
    @ParameterizedTest
    @ValueSource(strings = {"abc", "+5", "-1", "5, 6"})
    void anInvalidContentLengthIsMalformedAndNeverReachesTheOrigin(String value) throws Exception {
        int before = origin.requests.get();
        long malformedBefore = malformedRequests();
        Http3Headers h = h3.headers("POST", "/upload");
        for (String v : value.split(", ")) {
            h.add("content-length", v);
        }
        H3Client.Response r = h3.send(h, "hello".getBytes(StandardCharsets.US_ASCII));
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        assertThat(origin.requests.get()).isEqualTo(before);
        assertThat(malformedRequests()).isEqualTo(malformedBefore + 1);
    }

    private static long malformedRequests() {
        return portico.server().metrics().listener("https").http3().snapshot().get("malformed_request");
    }

    @Test
    void aHostThatDisagreesWithAuthorityIsMalformedAndNeverReachesTheOrigin() throws Exception {
        int before = origin.requests.get();
        Http3Headers h = h3.headers("GET", "/hello");
        h.add("host", "elsewhere.test");
        H3Client.Response r = h3.send(h, null);
        // RFC 9114 section 4.3.1: both present and different is malformed, a stream error.
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void anUpstreamThatIsDownGives502OverHttp3() throws Exception {
        H3Client.Response r = h3.get("/dead/x");
        assertThat(r.status()).as(r::describe).isEqualTo(502);
    }

    @Test
    void requestsCountAsHttp3InTheListenersMetrics() throws Exception {
        h3.get("/hello");
        HttpResponse<String> metrics = PorticoHarness.client().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + portico.server().adminAddress().getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).contains("portico_requests_total{code=\"2xx\",listener=\"https\",protocol=\"HTTP/3\"")
                .contains("portico_quic_connections_active{listener=\"https\"} ");
        assertThat(portico.server().metrics().listener("https").http3().activeConnections()).isPositive();
    }

    @Test
    void aReloadKeepsTheQuicConnectionAndItsNextStreamSeesTheNewRoutes() throws Exception {
        assertThat(h3.get("/new-route").body()).startsWith("no such test path");
        var result = portico.server().apply(ConfigLoader.parse("test.yaml",
                config("- {match: {path: /new-route}, respond: {body: added by reload}}")), "test");
        assertThat(result.ok()).as(String.valueOf(result.error())).isTrue();
        H3Client.Response r = h3.get("/new-route");
        assertThat(r.status()).as(r::describe).isEqualTo(200);
        assertThat(r.body()).isEqualTo("added by reload");
        assertThat(h3.quic.isActive()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> portico.server().retiredGenerations() == 0);
    }

    @Test
    void anAltSvcTheUpstreamSetIsNotDuplicated() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                URI.create("https://localhost:" + tcpPort() + "/scripted/alt")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.headers().allValues("alt-svc")).containsExactly("h3=\":9443\"; ma=60");
    }

    /**
     * A cache hit whose head was encoded ahead (HitHead) keeps the upstream's Alt-Svc as the only
     * one, as the miss before it and every answer on the long way do.
     */
    @Test
    void anAltSvcTheUpstreamSetIsNotDuplicatedOnAPreEncodedHit() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://localhost:" + tcpPort() + "/cached/alt")).build();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(r.body()).isEqualTo("own");
            assertThat(r.headers().allValues("alt-svc")).as("answer %d", i).containsExactly("h3=\":9443\"; ma=60");
        }
        assertThat(scripted.hits("/cached/alt")).isEqualTo(1);
    }

    /** portico_received_bytes_total and portico_sent_bytes_total count the UDP side's datagrams, as the TCP side's bytes. */
    @Test
    void http3TrafficCountsInTheListenersByteCounters() throws Exception {
        long inBefore = listenerCounter("portico_received_bytes_total");
        long outBefore = listenerCounter("portico_sent_bytes_total");
        byte[] body = new byte[50_000];
        Http3Headers up = h3.headers("POST", "/upload");
        up.setInt("content-length", body.length);
        assertThat(h3.send(up, body).status()).isEqualTo(200);
        H3Client.Response down = h3.get("/download/200000");
        assertThat(down.bodyBytes).isEqualTo(200_000);
        assertThat(listenerCounter("portico_received_bytes_total") - inBefore).isGreaterThan(50_000);
        assertThat(listenerCounter("portico_sent_bytes_total") - outBefore).isGreaterThan(200_000);
    }

    private static long listenerCounter(String name) throws Exception {
        String text = PorticoHarness.client().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + portico.server().adminAddress().getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^" + name + "\\{listener=\"https\"} ([0-9.eE+]+)$").matcher(text);
        assertThat(m.find()).as(name + " in\n" + text).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }
}
