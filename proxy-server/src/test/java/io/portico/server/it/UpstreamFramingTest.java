package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Responses whose framing an upstream got wrong or made ambiguous: the client gets 502 (the head
 * never reaches it), and the upstream connection is closed, never pooled for another request.
 */
class UpstreamFramingTest {

    static RawOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new RawOrigin()
                .on("/ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .on("/cl-te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .on("/te-cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")
                .on("/two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc")
                .on("/same-length-twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab")
                .on("/length-list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc")
                .on("/signed-length", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab")
                .on("/te-gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nab")
                .on("/te-chunked-gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n")
                .on("/te-gzip-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
                .on("/http10-te", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .on("/obs-fold", "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok")
                .on("/space-before-colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok")
                .on("/bare-lf", "HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok")
                .on("/nul", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok")
                .on("/bad-name", "HTTP/1.1 200 OK\r\nX(y): 1\r\nContent-Length: 2\r\n\r\nok")
                .on("/bad-trailer-name", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX y: 1\r\n\r\n")
                .on("/bad-status", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok")
                .on("/bad-chunk-size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n")
                .on("/bad-chunk-end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX0\r\n\r\n")
                .on("/chunk-size-bare-lf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n")
                .on("/huge-headers", "HTTP/1.1 200 OK\r\n" + ("X-Filler: " + "f".repeat(1000) + "\r\n").repeat(70)
                        + "Content-Length: 2\r\n\r\nok");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    retry: { attempts: 3, min_per_second: 1000 }
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()));
    }

    @AfterAll
    static void stop() throws IOException {
        portico.close();
        origin.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/cl-te", "/te-cl", "/two-lengths", "/same-length-twice", "/length-list", "/signed-length",
        "/te-gzip", "/te-chunked-gzip", "/te-gzip-chunked", "/http10-te", "/obs-fold", "/space-before-colon", "/bare-lf", "/nul", "/bad-name",
        "/bad-status", "/bad-chunk-size", "/bad-chunk-end", "/chunk-size-bare-lf", "/huge-headers"})
    void anAmbiguousOrBrokenResponseGets502AndItsUpstreamConnectionIsClosed(String path) throws Exception {
        int requestsBefore = origin.requests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).as(path).isEqualTo(502);
            assertThat(r.text()).contains("502 Bad Gateway");
            // The client's own connection is fine: only the upstream one is in doubt.
            assertThat(raw.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n").read().text()).isEqualTo("ok");
        }
        // Not retried: the backend answered, however badly.
        assertThat(origin.requests.get()).isEqualTo(requestsBefore + 2);
        // The connection that carried the bad response was closed; the one that served /ok may stay pooled.
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openThatServed(path) == 0);
    }

    @Test
    void aTrailerWithABadNameIsNeverPassedOn() throws Exception {
        // The whole response may reach Portico in one read (a 502) or in pieces (the head and body
        // already sent: the client's response is cut short); either way the trailer stays behind.
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /bad-trailer-name HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(got).doesNotContain("X y");
            if (got.startsWith("HTTP/1.1 200")) {
                assertThat(got).as("a cut-short chunked body, not a complete one").doesNotContain("\r\n0\r\n");
            } else {
                assertThat(got).startsWith("HTTP/1.1 502");
            }
        }
    }

    @Test
    void aGoodResponseLeavesItsConnectionPooled() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            for (int i = 0; i < 5; i++) {
                assertThat(raw.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n").read().text()).isEqualTo("ok");
            }
        }
        assertThat(origin.open.get()).isBetween(1, 2);
    }
}
