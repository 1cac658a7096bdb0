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
        assertThat(origin.requests.get()).isEqualTo(3);
    }
}
