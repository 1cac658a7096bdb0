package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A keep-alive connection idle for half a second gives up its HTTP/1.1 parser (framing guard and
 * codec) until its next request, as nginx frees a waiting connection's buffers. What a client
 * notices: nothing. The next request, a pipelined pair, a head split across the idle spell and the
 * keep-alive timeout all behave as on a connection that never parked.
 */
class IdleConnectionParkingTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("parking");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()), """
                    http:
                      keepalive_timeout: 3s
                """);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    private static long parked() {
        return portico.server().lifecycle().parkedConnections();
    }

    /** Connections of the test before have closed, and their count has come down. */
    @BeforeEach
    void settle() {
        await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 0);
    }

    /**
     * A connection whose requests Portico answers itself (a fixed response) parks too, and closes
     * quietly at keepalive_timeout: an empty read after the answer started a head's deadline, so
     * it never parked and got an unasked-for 408 at header_timeout.
     */
    @Test
    void aConnectionAnsweredLocallyParksAndClosesQuietlyAtTheKeepaliveTimeout() throws Exception {
        try (PorticoHarness local = PorticoHarness.start("""
                servers:
                  - routes:
                      - match: { prefix: / }
                        respond: { body: "here" }
                """, """
                    http:
                      header_timeout: 1s
                      keepalive_timeout: 2s
                """); RawHttp raw = new RawHttp(local.port())) {
            raw.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(raw.read().text()).isEqualTo("here");
            await().atMost(Duration.ofSeconds(5)).until(() -> local.server().lifecycle().parkedConnections() == 1);
            raw.send("GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(raw.read().text()).isEqualTo("here");
            await().atMost(Duration.ofSeconds(5)).until(() -> local.server().lifecycle().parkedConnections() == 1);
            // No 408 at header_timeout (1s): the end of the stream, with no byte before it.
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void anIdleConnectionParksAndItsNextRequestsAreAnsweredAsBefore() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /obj/first HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 1);

            // A plain request, then two pipelined in one write: each answered, in order.
            raw.send("GET /obj/second HTTP/1.1\r\nHost: a\r\n\r\n");
            RawHttp.Response second = raw.read();
            assertThat(second.status()).isEqualTo(200);
            assertThat(second.text()).isEqualTo("parking has /obj/second");
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 1);
            raw.send("GET /obj/p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /obj/p2 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(raw.read().text()).isEqualTo("parking has /obj/p1");
            assertThat(raw.read().text()).isEqualTo("parking has /obj/p2");
        }
        // A parked connection that closes is no longer counted.
        await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 0);
    }

    @Test
    void aHeadSplitAcrossAnIdleSpellIsNotParkedAndStillAnswered() throws Exception {
        try (RawHttp split = new RawHttp(portico.port()); RawHttp witness = new RawHttp(portico.port())) {
            split.send("GET /obj/warm HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(split.read().status()).isEqualTo(200);
            split.send("GET /obj/split HTTP/1.1\r\nHo");
            // A second connection answered after the split one went quiet: once it has parked, the
            // split one has been quiet longer than the parking delay, and must still hold its parser.
            witness.send("GET /obj/witness HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(witness.read().status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() >= 1);
            assertThat(parked()).isEqualTo(1);
            split.send("st: a\r\n\r\n");
            RawHttp.Response r = split.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("parking has /obj/split");
        }
    }

    @Test
    void aParkedConnectionStillClosesAtTheKeepaliveTimeout() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("GET /obj/once HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(200);
            long start = System.nanoTime();
            // closedByServer() blocks until the server closes or the socket times out.
            assertThat(raw.closedByServer()).isTrue();
            assertThat((System.nanoTime() - start) / 1_000_000).isBetween(2_000L, 6_000L);
        }
    }

    /**
     * Parked connections wait in one list per event loop, in deadline order: a connection that
     * comes back for a request and parks again takes a fresh deadline and a new place at the end.
     */
    @Test
    void aConnectionThatParksAgainGetsAFreshKeepaliveDeadline() throws Exception {
        try (RawHttp first = new RawHttp(portico.port()); RawHttp second = new RawHttp(portico.port())) {
            first.send("GET /obj/f1 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(first.read().status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 1);
            second.send("GET /obj/s1 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(second.read().status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 2);
            // The first comes back after the second parked: its new deadline is at least the
            // parking delay (0.5 s) later than the second's.
            first.send("GET /obj/f2 HTTP/1.1\r\nHost: a\r\n\r\n");
            assertThat(first.read().status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 2);

            assertThat(second.closedByServer()).isTrue();
            // Had the first kept its old deadline, it would have closed before the second.
            first.send("GET /obj/f3 HTTP/1.1\r\nHost: a\r\n\r\n");
            RawHttp.Response r = first.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("parking has /obj/f3");
        }
    }

    @Test
    void manyParkedConnectionsAllServeTheirNextRequest() throws Exception {
        List<RawHttp> conns = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                RawHttp raw = new RawHttp(portico.port());
                conns.add(raw);
                raw.send("GET /obj/a" + i + " HTTP/1.1\r\nHost: a\r\n\r\n");
                assertThat(raw.read().status()).isEqualTo(200);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> parked() == 50);
            for (RawHttp raw : conns) {
                raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
                RawHttp.Response r = raw.read("POST");
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.text()).startsWith("received 5");
            }
        } finally {
            for (RawHttp raw : conns) {
                raw.close();
            }
        }
    }
}
