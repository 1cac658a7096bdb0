package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.netty.handler.codec.http.HttpRequest;

import java.io.IOException;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/**
 * Requests whose framing two HTTP parsers could read differently, sent byte for byte. Each gets
 * its error status and a closed connection, and the origin sees nothing — not even the well-formed
 * request pipelined behind it, which is where a smuggled request would hide.
 */
class RequestSmugglingTest {

    /** A body whose framing breaks after a good head: the head may have gone upstream, the request never completes. */
    private static final int BODY = -400;
    private static final String NEXT = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("smuggling");
        portico = PorticoHarness.proxyTo(origin, "");
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    static Stream<Arguments> badRequests() {
        return Stream.of(
                arguments("Content-Length with Transfer-Encoding", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "0\r\n\r\n"),
                arguments("Transfer-Encoding with Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n"
                                + "0\r\n\r\n"),
                arguments("Transfer-Encoding not ending in chunked", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
                arguments("Transfer-Encoding identity", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
                arguments("Transfer-Encoding chunked twice", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "0\r\n\r\n"),
                arguments("Transfer-Encoding with a space in the name", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
                arguments("Transfer-Encoding xchunked", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
                arguments("Transfer-Encoding chunked with a trailing comma", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n"),
                arguments("two different Content-Lengths", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
                arguments("a Content-Length list with different values", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd"),
                arguments("a signed Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"),
                arguments("a negative Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
                arguments("a non-numeric Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\nabc"),
                arguments("a hexadecimal Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc"),
                arguments("an empty Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n"),
                arguments("a Content-Length past 2^63", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"),
                arguments("a chunk size that is not hex", BODY,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
                arguments("a negative chunk size", BODY,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n"),
                arguments("a chunk size that overflows", BODY,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                + "10000000000000003\r\nabc\r\n0\r\n\r\n"),
                arguments("chunk data not followed by CRLF", BODY,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n"),
                arguments("a chunk size line ended by a bare LF", BODY,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"),
                arguments("an obs-fold continuation line", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n"),
                arguments("an obs-fold on Transfer-Encoding", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
                arguments("whitespace before the colon", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Space : 1\r\n\r\n"),
                arguments("a tab before the colon", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nContent-Length\t: 0\r\n\r\n"),
                arguments("a bare CR inside a value", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Cr: a\rb\r\n\r\n"),
                arguments("a bare CR ending a header line", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\rX-Next: 1\r\n\r\n"),
                arguments("a bare LF ending a header line", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\nX-Next: 1\r\n\r\n"),
                arguments("a NUL inside a value", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Nul: a\0b\r\n\r\n"),
                arguments("a control character inside a value", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nX-Ctl: a\u0001b\r\n\r\n"),
                arguments("a header name with a non-token character", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n"),
                arguments("a trailer name with a non-token character", BODY,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX(y): 1\r\n\r\n"),
                arguments("a header line without a colon", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n"),
                arguments("Connection naming Content-Length", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\nabc"),
                arguments("Connection naming Transfer-Encoding", 400,
                        "POST /upload HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, transfer-encoding\r\n"
                                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                arguments("Connection naming Host", 400,
                        "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n"),
                arguments("HTTP/1.0 with Transfer-Encoding", 400,
                        "POST /upload HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                arguments("Host missing", 400, "GET /hello HTTP/1.1\r\n\r\n"),
                arguments("Host twice", 400, "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                arguments("Host empty", 400, "GET /hello HTTP/1.1\r\nHost:\r\n\r\n"),
                arguments("Host with a path", 400, "GET /hello HTTP/1.1\r\nHost: a/b\r\n\r\n"),
                arguments("Host with userinfo", 400, "GET /hello HTTP/1.1\r\nHost: u@a\r\n\r\n"),
                arguments("an absolute-form target with userinfo", 400,
                        "GET http://u@a/hello HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("an absolute-form target without Host", 400, "GET http://a/hello HTTP/1.1\r\n\r\n"),
                arguments("an absolute-form target with an empty authority", 400,
                        "GET http:///hello HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a relative target", 400, "GET hello HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a target with a fragment", 400, "GET /hello#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a target with a control character", 400, "GET /he\u0001llo HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a target with a non-ASCII byte", 400, "GET /h\u00e9llo HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a target with a space", 400, "GET /he llo HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a query with a control character", 400, "GET /hello?a=\u0007 HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a path that climbs above the root", 400, "GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a NUL escape in the path", 400, "GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a bad escape in the path", 400, "GET /a%zzb HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a request line ended by a bare LF", 400, "GET /hello HTTP/1.1\nHost: a\r\n\r\n"),
                arguments("a request line with two spaces", 400, "GET  /hello HTTP/1.1\r\nHost: a\r\n\r\n"),
                arguments("a lower-case version", 400, "GET /hello http/1.1\r\nHost: a\r\n\r\n"),
                arguments("an unknown major version", 505, "GET /hello HTTP/2.0\r\nHost: a\r\n\r\n"),
                arguments("a method with a non-token character", 400, "GE(T /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void isRefusedWithTheConnectionClosedAndNothingForwarded(String name, int status, String request) throws Exception {
        warmUpstreamPools();
        int before = origin.requests.get();
        int completeBefore = origin.completeRequests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send(request + NEXT).read();
            assertThat(r.status()).as(name + ": " + r.statusLine()).isEqualTo(Math.abs(status));
            assertThat(r.header("connection")).as(name).isEqualTo("close");
            assertThat(raw.closedByServer()).as(name + ": connection closed").isTrue();
        }
        if (status != BODY) {
            assertThat(origin.requests.get()).as(name + ": requests the origin saw").isEqualTo(before);
        }
        // A head that went upstream before its body broke is cut there: the origin never gets a whole request.
        assertThat(origin.completeRequests.get()).as(name + ": whole requests the origin got").isEqualTo(completeBefore);
    }

    /**
     * A good request with a bad one pipelined behind it: the good one, already whole (and maybe
     * already upstream), gets its own answer; the 400 and the close are for the bad one. Answering
     * the good request 400 would tell the client that a request the origin may have carried out
     * was refused.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void aGoodRequestAheadOfABadOneIsAnsweredThenTheBadOneRefused(String name, int status, String request)
            throws Exception {
        warmUpstreamPools();
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + request + NEXT);
            RawHttp.Response first = raw.read();
            assertThat(first.status()).as(name + ": " + first.statusLine()).isEqualTo(200);
            RawHttp.Response second = raw.read();
            assertThat(second.status()).as(name + ": " + second.statusLine()).isEqualTo(Math.abs(status));
            assertThat(second.header("connection")).as(name).isEqualTo("close");
            assertThat(raw.closedByServer()).as(name + ": connection closed").isTrue();
        }
    }

    @Test
    void aDeclinedH2cUpgradeLeavesNothingBehindThatCouldSkipABody() throws Exception {
        // The first request asks for h2c without "Connection: Upgrade", so the upgrade is declined.
        // Netty's upgrade handler is an aggregator: had it stayed, a later request naming an Upgrade
        // and an unknown Expect got its 417, and its event made the decoder take the body for a new
        // request head while the framing check counted it as body.
        String smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nX(y): 1\r\n\r\n";
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /hello HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(200);
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nExpect: foo\r\nContent-Length: "
                    + smuggled.length() + "\r\n\r\n" + smuggled);
            assertThat(raw.read().status()).isEqualTo(417);
            // Whatever the connection still carries comes after the body on the wire: once this
            // answer (or the close) is in, a smuggled request would have reached the origin first.
            try {
                assertThat(raw.send(NEXT).read().status()).isEqualTo(200);
            } catch (IOException closedAfterThe417) {
                // Portico may close after refusing the expectation; then nothing after it was read.
            }
        }
        assertThat(origin.heads).extracting(HttpRequest::uri).doesNotContain("/smuggled");
    }

    /** Pooled upstream connections on both event loops, so a forwarded head would go out at once. */
    private static void warmUpstreamPools() throws Exception {
        for (int i = 0; i < 4; i++) {
            try (RawHttp raw = new RawHttp(portico.port())) {
                assertThat(raw.send(NEXT).read().status()).isEqualTo(200);
            }
        }
    }
}
