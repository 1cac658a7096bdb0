package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An HTTP/2 connection with no stream open is idle, and closes with GOAWAY after the listener's
 * keepalive_timeout as an idle HTTP/1.1 connection does (nginx does the same for HTTP/2). A
 * connection with a stream in progress is not idle, however long the stream takes.
 */
class Http2IdleConnectionTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("idle");
        portico = PorticoHarness.proxyTo(origin.port(), "", "", "    http: {keepalive_timeout: 1s}\n");
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void anIdleConnectionClosesWithGoAwayAfterKeepaliveTimeout() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/hello"), true);
            assertThat(h2.response(1).text()).isEqualTo("hello from idle");
            // RawH2 reads for 10 s at most: the server must end it well before.
            RawH2.Frame goAway = h2.awaitGoAway();
            assertThat(goAway.errorCode()).as("NO_ERROR").isZero();
            assertThat(goAway.lastStreamId()).isEqualTo(1);
            assertThat(h2.closedByServer()).isTrue();
        }
    }

    @Test
    void aConnectionThatNeverOpensAStreamClosesToo() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            assertThat(h2.awaitGoAway().errorCode()).isZero();
            assertThat(h2.closedByServer()).isTrue();
        }
    }

    @Test
    void aStreamInProgressKeepsTheConnectionOpenPastKeepaliveTimeout() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            long until = System.nanoTime() + 2_500_000_000L;
            // A slow but live upload: a byte every 100 ms for 2.5 s, beyond keepalive_timeout.
            org.awaitility.Awaitility.await().pollInterval(java.time.Duration.ofMillis(100))
                    .atMost(java.time.Duration.ofSeconds(10)).until(() -> {
                        h2.data(1, new byte[1], false);
                        return System.nanoTime() > until;
                    });
            h2.data(1, new byte[1], true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).startsWith("received ");
        }
    }
}
