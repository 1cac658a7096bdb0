package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/1.1 proxying as a client sees it: keep-alive, headers, pipelining, 100-continue, HEAD, trailers. */
class HttpProxyingTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("a");
        portico = PorticoHarness.proxyTo(origin, "");
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void proxiesGetAndAddsForwardingHeadersViaAndRequestId() throws Exception {
        HttpResponse<String> r = PorticoHarness.client().send(
                HttpRequest.newBuilder(portico.uri("/headers")).header("X-Forwarded-For", "6.6.6.6").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("via")).hasValue("1.1 portico");
        String id = r.headers().firstValue("x-request-id").orElseThrow();
        assertThat(id).hasSize(32);
        assertThat(r.body())
                .contains("x-forwarded-for: 127.0.0.1\n")
                .doesNotContain("6.6.6.6")
                .contains("x-forwarded-proto: http\n")
                .contains("forwarded: for=127.0.0.1;proto=http;host=")
                .contains("via: 1.1 portico\n")
                .contains("x-request-id: " + id + "\n");
    }

    @Test
    void propagatesAValidIncomingRequestId() throws Exception {
        HttpResponse<String> r = PorticoHarness.client().send(
                HttpRequest.newBuilder(portico.uri("/headers")).header("X-Request-Id", "abc-123").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.headers().firstValue("x-request-id")).hasValue("abc-123");
        assertThat(r.body()).contains("x-request-id: abc-123\n");
    }

    @Test
    void keepAliveRequestsShareOneUpstreamConnection() throws Exception {
        try (TestOrigin own = new TestOrigin("ka"); PorticoHarness p = PorticoHarness.proxyTo(own, "")) {
            HttpClient client = PorticoHarness.client();
            for (int i = 0; i < 50; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.body()).isEqualTo("hello from ka");
            }
            assertThat(own.requests.get()).isEqualTo(50);
            assertThat(own.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void anAbsoluteFormTargetGoesUpstreamInOriginFormAndCONNECTIsNotImplemented() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET http://example.test/headers?a=1 HTTP/1.1\r\nHost: example.test\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).startsWith("GET /headers?a=1 HTTP/1.1\n").contains("host: example.test\n");
            // An empty path before a query is "/" (RFC 9112 section 3.2.2); it was refused as a bad host.
            RawHttp.Response query = raw.send("GET http://example.test?a=1 HTTP/1.1\r\nHost: example.test\r\n\r\n").read();
            assertThat(query.text()).contains("/?a=1");
            RawHttp.Response connect = raw.send("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n")
                    .read();
            assertThat(connect.status()).isEqualTo(501);
        }
        // OPTIONS * is about the server as a whole: it goes upstream as it is, on the route of "/".
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("OPTIONS * HTTP/1.1\r\nHost: example.test\r\n\r\n").read();
            assertThat(r.text()).contains("no such test path *");
        }
        // HTTP/1.0 without Host: no empty X-Forwarded-Host or host="" goes upstream.
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /headers HTTP/1.0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).doesNotContain("x-forwarded-host").doesNotContain("host=")
                    .contains("forwarded: for=127.0.0.1;proto=http\n");
        }
    }

    @Test
    void removesHopByHopHeadersIncludingThoseNamedInConnection() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /headers HTTP/1.1\r\nHost: example.test\r\n"
                    + "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                    + "Proxy-Authorization: Basic Zm9v\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).contains("x-kept: yes")
                    .doesNotContain("x-secret").doesNotContain("keep-alive").doesNotContain("proxy-authorization")
                    .doesNotContain("\nte:").doesNotContain("connection:");
        }
    }

    /**
     * Fields whose name has an underscore are dropped, as nginx's {@code underscores_in_headers off}
     * does: {@code X_Forwarded_For} would reach a CGI-style backend as the X-Forwarded-For Portico
     * replaces. {@code http.underscores_in_headers: true} passes them.
     */
    @Test
    void dropsFieldsWithAnUnderscoreInTheNameUnlessTheListenerAllowsThem() throws Exception {
        String request = "GET /headers HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\nX_Custom: 1\r\n"
                + "X-Kept: yes\r\n\r\n";
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send(request).read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).contains("x-kept: yes").doesNotContain("6.6.6.6").doesNotContain("x_custom");
        }
        try (PorticoHarness p = PorticoHarness.proxyTo(origin.port(), "", "", """
                    http:
                      underscores_in_headers: true
                """); RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send(request).read();
            assertThat(r.text()).contains("x_forwarded_for: 6.6.6.6").contains("x_custom: 1");
        }
    }

    @Test
    void answersPipelinedRequestsInOrderOnOneConnection() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /status/202 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(201);
            RawHttp.Response second = raw.read();
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.text()).isEqualTo("hello from a");
            assertThat(raw.read().status()).isEqualTo(202);
        }
    }

    /**
     * A pipeline deeper than the queue is cut: the request in progress and the 64 queued behind it
     * are answered, the last with Connection: close, and the rest are dropped unread (the client
     * sends them again, RFC 9112 9.3.2) instead of all of them becoming request objects held in
     * memory while the first waits.
     */
    @Test
    void aPipelineDeeperThanTheQueueIsAnsweredUpToTheQueueThenClosed() throws Exception {
        try (TestOrigin own = new TestOrigin("deep"); PorticoHarness p = PorticoHarness.proxyTo(own, "");
             RawHttp raw = new RawHttp(p.port())) {
            // One write of 200 requests of 31 bytes. Portico reads no more while requests wait, and
            // a connection's first read is Netty's first guess, 2,048 bytes: 66 whole requests,
            // decoded at once, one more than the request in progress and the 64 queued behind it.
            raw.send("GET /hello HTTP/1.1\r\nHost:a\r\n\r\n".repeat(200));
            for (int i = 1; i <= 65; i++) {
                RawHttp.Response r = raw.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).isEqualTo("hello from deep");
                assertThat(r.header("connection")).as("response %d", i).isEqualTo(i == 65 ? "close" : null);
            }
            assertThat(raw.closedByServer()).isTrue();
            assertThat(own.requests.get()).isEqualTo(65);
        }
    }

    @Test
    void answersExpectContinueThenStreamsTheBody() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            RawHttp.Response interim = raw.read();
            assertThat(interim.status()).isEqualTo(100);
            RawHttp.Response r = raw.send("hello").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("received 5");
            assertThat(origin.lastHead().headers().contains("expect")).isFalse();
        }
    }

    @Test
    void refusesUnknownExpectation() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                    + "Expect: teapot\r\n\r\nx").read();
            assertThat(r.status()).isEqualTo(417);
        }
    }

    @Test
    void headAnswersWithoutBodyAndKeepsTheConnection() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response head = raw.send("HEAD /download/1000 HTTP/1.1\r\nHost: a\r\n\r\n").read("HEAD");
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("content-length")).isEqualTo("1000");
            RawHttp.Response next = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(next.text()).isEqualTo("hello from a");
        }
    }

    @Test
    void passesTrailersInBothDirections() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response up = raw.send("POST /upload-trailers HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n0\r\nX-Digest: abc\r\n\r\n").read();
            assertThat(up.text()).isEqualTo("received 5 trailers [X-Digest]");
            RawHttp.Response down = raw.send("GET /chunked/100 HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(down.body()).hasSize(100);
            assertThat(down.trailers()).containsEntry("x-checksum", java.util.List.of("done"));
        }
    }

    @Test
    void reframesACloseDelimitedUpstreamBodyAsChunkedAndKeepsTheClient() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /close-delimited/3000 HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.header("transfer-encoding")).isEqualTo("chunked");
            assertThat(r.body()).hasSize(3000);
            assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
        }
    }

    @Test
    void givesAnHttp10ClientAClosedDelimitedBodyForAChunkedResponse() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /chunked/500 HTTP/1.0\r\nHost: a\r\n\r\n").read();
            assertThat(r.header("transfer-encoding")).isNull();
            assertThat(r.body()).hasSize(500);
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void forwardsEarlyHintsBeforeTheFinalResponse() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /early-hints HTTP/1.1\r\nHost: a\r\n\r\n");
            RawHttp.Response hints = raw.read();
            assertThat(hints.status()).isEqualTo(103);
            assertThat(hints.header("link")).contains("rel=preload");
            RawHttp.Response fin = raw.read();
            assertThat(fin.status()).isEqualTo(200);
            assertThat(fin.text()).isEqualTo("after hints");
        }
    }

    @Test
    void closesWhenTheClientAsks() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").read();
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void givesAnHttp10RequestWithoutHostTheBackendAsHost() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /headers HTTP/1.0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).startsWith("GET /headers HTTP/1.1\n").contains("host: 127.0.0.1:" + origin.port() + "\n");
        }
    }

}
