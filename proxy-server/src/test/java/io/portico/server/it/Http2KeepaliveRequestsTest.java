package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The listener's keepalive_requests applies to HTTP/2 connections too, as nginx's does: a graceful GOAWAY after N streams. */
class Http2KeepaliveRequestsTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("ka");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(origin.port()), "    http: {keepalive_requests: 3}\n");
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void afterKeepaliveRequestsStreamsTheConnectionEndsWithAGracefulGoAwayAndTheLastStreamIsServed() throws Exception {
        int before = origin.requests.get();
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/hello"), true);
            assertThat(h2.response(1).status()).isEqualTo("200");
            h2.headers(3, RawH2.get("/hello"), true);
            assertThat(h2.response(3).status()).isEqualTo("200");

            h2.headers(5, RawH2.get("/hello"), true);
            boolean answered = false;
            RawH2.Frame lastGoAway = null;
            RawH2.Frame f;
            while ((f = h2.next()) != null) {
                if (f.type() == RawH2.PING && (f.flags() & RawH2.ACK) == 0) {
                    h2.frame(RawH2.PING, RawH2.ACK, 0, f.payload());
                } else if (f.type() == RawH2.GOAWAY) {
                    assertThat(f.errorCode()).as("NO_ERROR").isZero();
                    lastGoAway = f;
                } else if (f.stream() == 5 && (f.flags() & RawH2.END_STREAM) != 0) {
                    answered = true;
                } else {
                    assertThat(f.type()).as("no stream is reset").isNotEqualTo(RawH2.RST_STREAM);
                }
            }
            assertThat(answered).as("the third stream was served to its end").isTrue();
            assertThat(lastGoAway).isNotNull();
            assertThat(lastGoAway.lastStreamId()).isEqualTo(5);
        }
        assertThat(origin.requests.get() - before).isEqualTo(3);
    }

    /**
     * The final GOAWAY of a drain waits for the PING round trip, but not forever: a client that
     * never answers the PING gets it anyway, and the connection closes, instead of staying open
     * for new streams past keepalive_requests (or, on a reload, on the old config) for as long as
     * that client likes.
     */
    @Test
    void aClientThatNeverAnswersTheDrainPingStillGetsTheFinalGoAwayAndTheConnectionCloses() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            for (int stream = 1; stream <= 5; stream += 2) {
                h2.headers(stream, RawH2.get("/hello"), true);
            }
            java.util.List<RawH2.Frame> goAways = new java.util.ArrayList<>();
            boolean pinged = false;
            RawH2.Frame f;
            try {
                while ((f = h2.next()) != null) {
                    if (f.type() == RawH2.HEADERS) {
                        h2.headersOf(f);
                    } else if (f.type() == RawH2.PING && (f.flags() & RawH2.ACK) == 0) {
                        pinged = true; // and never answered
                    } else if (f.type() == RawH2.GOAWAY) {
                        goAways.add(f);
                    }
                }
            } catch (java.net.SocketTimeoutException stillOpen) {
                throw new AssertionError("the connection stayed open; GOAWAY frames seen: " + goAways.size(), stillOpen);
            }
            assertThat(pinged).isTrue();
            assertThat(goAways).hasSize(2);
            assertThat(goAways.get(0).lastStreamId()).isEqualTo(Integer.MAX_VALUE);
            assertThat(goAways.get(1).lastStreamId()).isEqualTo(5);
            assertThat(goAways.get(1).errorCode()).isZero();
        }
    }
}
