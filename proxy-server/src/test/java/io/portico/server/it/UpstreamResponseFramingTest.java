package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** What Portico does with responses an origin should not have sent that way (found by review). */
class UpstreamResponseFramingTest {

    static RawOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new RawOrigin()
                // Two responses to one request, in one write.
                .on("/a", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
                .on("/b", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nreal-b")
                .on("/head-body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                .on("/latin1", "HTTP/1.1 200 D\u00e9j\u00e0 vu\r\n"
                        + "Content-Disposition: attachment; filename=\"r\u00e9sum\u00e9.pdf\"\r\nContent-Length: 2\r\n\r\nok")
                .on("/hints", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
                        + "Connection: X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
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
                """.formatted(origin.port()));
    }

    @AfterAll
    static void stop() throws Exception {
        portico.close();
        origin.close();
    }

    @Test
    void aResponseNobodyAskedForNeverAnswersTheNextRequest() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            // Pipelined: /b is dispatched the moment /a's answer ends, when the extra response is
            // already in the connection's buffer (RFC 9112 section 6.3: never to be forwarded).
            raw.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
            RawHttp.Response first = raw.read();
            RawHttp.Response second = raw.read();
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.text()).isEqualTo("a");
            assertThat(second.text()).isEqualTo("real-b");
        }
    }

    @Test
    void aHeadAnswerFollowedByABodyStillReachesTheClient() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (RawHttp raw = new RawHttp(portico.port())) {
                RawHttp.Response r = raw.send("HEAD /head-body HTTP/1.1\r\nHost: x\r\n\r\n").read("HEAD");
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("content-length")).isEqualTo("5");
            }
        }
    }

    @Test
    void obsTextInAResponsesReasonAndFieldsIsPassedOn() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /latin1 HTTP/1.1\r\nHost: x\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("ok");
            assertThat(r.header("content-disposition").getBytes(StandardCharsets.ISO_8859_1))
                    .isEqualTo("attachment; filename=\"r\u00e9sum\u00e9.pdf\"".getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    @Test
    void anInterimResponseLosesItsHopByHopFields() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /hints HTTP/1.1\r\nHost: x\r\n\r\n");
            RawHttp.Response hints = raw.read();
            RawHttp.Response last = raw.read();
            assertThat(hints.status()).isEqualTo(103);
            assertThat(hints.header("link")).isEqualTo("</s.css>; rel=preload");
            assertThat(hints.headers()).doesNotContainKeys("x-hop", "keep-alive", "connection");
            assertThat(last.status()).isEqualTo(200);
        }
    }
}
