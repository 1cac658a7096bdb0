package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Once a stream's response is out, the stream is over for the connection too: a connection whose
 * streams are all answered is idle and closes with GOAWAY after keepalive_timeout (1 s here),
 * whatever the client sent on a stream that nobody read. A stream that lingered would hold the
 * connection (and its socket) open until stream_idle_timeout (60 s here), past RawH2's 10 s read
 * timeout.
 */
class Http2StreamEndTest {

    static final int NO_ERROR = 0x0;
    static final int UNKNOWN_FRAME_TYPE = 0x21;

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("end");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    max_body_size: 1k
                    routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(origin.port()), """
                    http: {keepalive_timeout: 1s}
                    http2: {stream_idle_timeout: 60s}
                """);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    /** Ends the test's connection: GOAWAY NO_ERROR for {@code lastStream} within RawH2's read timeout, then the close. */
    static void closesWhenIdle(RawH2 h2, int lastStream) throws Exception {
        RawH2.Frame goAway = h2.awaitGoAway();
        assertThat(goAway.errorCode()).isEqualTo(NO_ERROR);
        assertThat(goAway.lastStreamId()).isEqualTo(lastStream);
        assertThat(h2.closedByServer()).isTrue();
    }

    /** A 413 to an upload whose DATA already waits, unread, on the stream. */
    @Test
    void anUploadAnsweredBeforeItsBodyWasReadDoesNotHoldTheConnection() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload").add("content-length", "5000"), false);
            h2.data(1, new byte[1000], false);
            h2.data(1, new byte[1000], false);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("413");
            closesWhenIdle(h2, 1);
        }
    }

    /**
     * Frames of an unknown type after END_STREAM, while the exchange waits for its origin, each
     * in a read of its own; they are ignored (RFC 9113 section 5.5) and nothing of them is left
     * waiting on the stream. PRIORITY too, which reaches a stream another way.
     */
    @Test
    void framesAfterTheRequestEndedDoNotHoldTheConnection() throws Exception {
        int heldBefore = origin.held.get();
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/held"), true);
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.held.get() == heldBefore + 1);
            for (int i = 0; i < 3; i++) {
                h2.frame(UNKNOWN_FRAME_TYPE, 0, 1, new byte[] {1, 2, 3});
                h2.frame(RawH2.PRIORITY, 0, 1, new byte[] {0, 0, 0, 0, 15});
                // Both frames have reached Portico once the PING behind them is answered.
                h2.pingRoundTrip();
            }
            origin.releaseHeld();
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("released");
            closesWhenIdle(h2, 1);
        }
    }

    /**
     * An extended CONNECT (RFC 8441) whose upstream refuses the upgrade (403): the client gets the
     * upstream's answer, then RST_STREAM NO_ERROR for its side of the stream, which it never ended.
     */
    @Test
    void aRefusedWebSocketStreamIsEndedAndDoesNotHoldTheConnection() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("CONNECT", "/status/403").add(":protocol", "websocket")
                    .add("sec-websocket-version", "13"), false);
            // WebSocket bytes sent ahead of the answer: nobody reads them once the upgrade is refused.
            h2.data(1, new byte[] {(byte) 0x81, (byte) 0x80, 1, 2, 3, 4}, false);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("403");
            assertThat(r.text()).isEqualTo("status");
            RawH2.Frame f;
            do {
                f = h2.next();
                assertThat(f).as("connection open").isNotNull();
            } while (f.type() != RawH2.RST_STREAM);
            assertThat(f.stream()).isEqualTo(1);
            assertThat(f.errorCode()).isEqualTo(NO_ERROR);
            closesWhenIdle(h2, 1);
        }
    }

    /** An upload whose END_STREAM comes on its trailers, and one whose END_STREAM comes on its last DATA. */
    @Test
    void uploadsEndedByTrailersOrByTheirLastDataEndTheirStreams() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            h2.data(1, new byte[100], false);
            h2.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().add("x-checksum", "abc"), true);
            RawH2.Response first = h2.response(1);
            assertThat(first.status()).isEqualTo("200");
            assertThat(first.text()).isEqualTo("received 100 trailers [x-checksum]");

            h2.headers(3, RawH2.request("POST", "/upload").add("content-length", "200"), false);
            h2.data(3, new byte[200], true);
            RawH2.Response second = h2.response(3);
            assertThat(second.status()).isEqualTo("200");
            assertThat(second.text()).startsWith("received 200");
            closesWhenIdle(h2, 3);
        }
    }

    /** A client that resets its stream while the exchange waits for the origin: the stream ends at once. */
    @Test
    void aStreamTheClientResetsWhileItsOriginThinksDoesNotHoldTheConnection() throws Exception {
        int heldBefore = origin.held.get();
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/held"), true);
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.held.get() == heldBefore + 1);
            h2.rst(1, 0x8);
            closesWhenIdle(h2, 1);
        } finally {
            origin.releaseHeld();
        }
    }

    /** The common case stays as it was: a GET answered, the next stream on the same connection served. */
    @Test
    void streamsAfterAnsweredOnesAreServed() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            for (int i = 0; i < 5; i++) {
                int stream = 1 + 2 * i;
                h2.headers(stream, RawH2.get("/hello"), true);
                assertThat(h2.response(stream).text()).isEqualTo("hello from end");
            }
            closesWhenIdle(h2, 9);
        }
    }
}
