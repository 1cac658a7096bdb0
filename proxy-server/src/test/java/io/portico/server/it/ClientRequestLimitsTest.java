package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Limits and framing rules on client requests, and keep-alive limits, as a client sees them on the wire. */
class ClientRequestLimitsTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("limits");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - max_body_size: 1m
                    routes:
                      - match: { prefix: /upload }
                        upstream: origin
                        max_body_size: 100
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()), """
                    http:
                      max_request_line: 256
                      max_header_size: 1k
                      max_headers: 20
                """);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    private static RawHttp.Response rejected(String request, int status) throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send(request).read();
            assertThat(r.status()).as(r.statusLine()).isEqualTo(status);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).as("closed after %d", status).isTrue();
            return r;
        }
    }

    @Test
    void aRequestLineLongerThanTheLimitGets414() throws Exception {
        rejected("GET /" + "a".repeat(300) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414);
    }

    @Test
    void aRequestLineUnderTheLimitIsProxied() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            // 220 bytes; the origin answers 404 to the unknown query, which shows Portico let the line through.
            RawHttp.Response r = raw.send("GET /hello?" + "a".repeat(200) + " HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.header("x-origin")).isEqualTo("limits");
        }
    }

    @Test
    void aHeaderBlockLargerThanTheLimitGets431() throws Exception {
        rejected("GET /hello HTTP/1.1\r\nHost: a\r\nX-Big: " + "b".repeat(1200) + "\r\n\r\n", 431);
    }

    @Test
    void moreHeaderFieldsThanMaxHeadersGets431AndTheOriginSeesNothing() throws Exception {
        int before = origin.requests.get();
        StringBuilder many = new StringBuilder("GET /hello HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 20; i++) {
            many.append("X-").append(i).append(": 1\r\n");
        }
        rejected(many.append("\r\n").toString(), 431);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void headerFieldsUpToMaxHeadersAreProxied() throws Exception {
        StringBuilder some = new StringBuilder("GET /hello HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 19; i++) {
            some.append("X-").append(i).append(": 1\r\n");
        }
        try (RawHttp raw = new RawHttp(portico.port())) {
            assertThat(raw.send(some.append("\r\n").toString()).read().status()).isEqualTo(200);
        }
    }

    @Test
    void aDeclaredBodyOverTheRouteLimitGets413AndTheOriginSeesNothing() throws Exception {
        int before = origin.requests.get();
        RawHttp.Response r = rejected("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n"
                + "x".repeat(101), 413);
        assertThat(r.text()).contains("413").contains("request_id: " + r.header("x-request-id"));
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aLargeDeclaredBodyGets413BeforeTheClientHasSentIt() throws Exception {
        int before = origin.requests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 50000000\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(413);
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aBodyAtTheRouteLimitIsProxied() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
                    + "x".repeat(100)).read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("received 100");
        }
    }

    @Test
    void aChunkedBodyGrowingPastTheRouteLimitGets413() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3c\r\n" + "x".repeat(60) + "\r\n");
            raw.send("3c\r\n" + "y".repeat(60) + "\r\n");
            RawHttp.Response r = raw.read();
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 1);
    }

    @Test
    void http11WithoutHostGets400() throws Exception {
        rejected("GET /hello HTTP/1.1\r\n\r\n", 400);
    }

    @Test
    void http10WithoutHostIsProxied() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /hello HTTP/1.0\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("hello from limits");
        }
    }

    @Test
    void twoHostHeadersGet400() throws Exception {
        rejected("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    }

    @Test
    void anInvalidHostGets400() throws Exception {
        rejected("GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
        rejected("GET /hello HTTP/1.1\r\nHost: a:b\r\n\r\n", 400);
        rejected("GET /hello HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
    }

    @Test
    void contentLengthWithChunkedTransferEncodingGets400AndTheOriginSeesNothing() throws Exception {
        int before = origin.requests.get();
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n", 400);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aTransferCodingOtherThanChunkedGets501AndTheOriginSeesNothing() throws Exception {
        int before = origin.requests.get();
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n", 501);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void anUnknownOrNonFinalChunkedTransferEncodingGets400() throws Exception {
        int before = origin.requests.get();
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\nhello", 400);
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n", 400);
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n", 400);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void anOversizedBodyAnnouncedWithExpectContinueGets413InsteadOf100() throws Exception {
        int before = origin.requests.get();
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n", 413);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void twoDifferentContentLengthsGet400AndTheOriginSeesNothing() throws Exception {
        int before = origin.requests.get();
        rejected("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheKeepaliveTimeout() throws Exception {
        try (TestOrigin own = new TestOrigin("idle");
             PorticoHarness p = PorticoHarness.start(singleRoute(own), """
                         http:
                           keepalive_timeout: 500ms
                     """);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("connection")).isNull();
            await().between(Duration.ofMillis(300), Duration.ofSeconds(5)).until(raw::closedByServer);
        }
    }

    /**
     * A local answer (fixed response, redirect, 404) is written as soon as the head arrives, before
     * the decoder hands on the request's end: the connection must still wait for its next request
     * on the keep-alive clock, not hang on forever.
     */
    @Test
    void aConnectionIdleAfterALocalAnswerIsClosedAfterTheKeepaliveTimeout() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                     servers:
                       - routes:
                           - match: { path: /fixed }
                             respond: { body: "fixed" }
                           - match: { prefix: /post }
                             respond: { body: "posted" }
                     """, """
                         http:
                           keepalive_timeout: 500ms
                     """);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /fixed HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            RawHttp.Response missing = raw.send("GET /nothing-here HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(missing.status()).isEqualTo(404);
            // A body that arrives after the answer was written.
            raw.send("POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n");
            RawHttp.Response posted = raw.read();
            assertThat(posted.text()).isEqualTo("posted");
            assertThat(posted.header("connection")).isNull();
            raw.send("body");
            await().between(Duration.ofMillis(300), Duration.ofSeconds(5)).until(raw::closedByServer);
        }
    }

    @Test
    void theKeepaliveTimeoutDoesNotCutARequestWaitingForItsResponse() throws Exception {
        try (TestOrigin own = new TestOrigin("hang");
             PorticoHarness p = PorticoHarness.start(singleRoute(own).replace("    backends:",
                     "    response_header_timeout: 800ms\n    backends:"), """
                         http:
                           keepalive_timeout: 300ms
                     """);
             RawHttp raw = new RawHttp(p.port())) {
            RawHttp.Response r = raw.send("GET /hang HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(504);
        }
    }

    @Test
    void theConnectionClosesAfterKeepaliveRequestsResponses() throws Exception {
        try (TestOrigin own = new TestOrigin("count");
             PorticoHarness p = PorticoHarness.start(singleRoute(own), """
                         http:
                           keepalive_requests: 3
                     """);
             RawHttp raw = new RawHttp(p.port())) {
            for (int i = 1; i <= 2; i++) {
                RawHttp.Response r = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("connection")).as("response %d", i).isNull();
            }
            RawHttp.Response third = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(third.status()).isEqualTo(200);
            assertThat(third.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    private static String singleRoute(TestOrigin o) {
        return """
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(o.port());
    }
}
