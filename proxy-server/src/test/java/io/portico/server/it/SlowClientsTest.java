package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Clients that hold a connection by being slow: a head trickled byte by byte (slowloris), a body
 * that stops or crawls (slow POST), a client that stops reading its response, and a connection
 * that never sends anything. Each is cut by its own deadline, and nothing reaches the origin whole.
 */
class SlowClientsTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("slow-clients");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - max_body_size: 0
                    routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()), """
                    http:
                      header_timeout: 1s
                      body_timeout: 700ms
                      min_body_rate: 1k
                      send_timeout: 1s
                      keepalive_timeout: 5s
                """);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void aHeadTrickledByteByByteGets408WhenTheHeaderTimeoutPassesSinceItsFirstByte() throws Exception {
        int before = origin.requests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            long start = System.nanoTime();
            raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n");
            // A byte every 100 ms: an idle timer that each byte restarts would never fire. The trickle
            // ends when Portico closes the connection (the point of the test).
            Pace.times(Duration.ofMillis(100), 100, () -> {
                raw.send("X");
                return true;
            });
            RawHttp.Response r = raw.read();
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(elapsedMs).isBetween(900L, 3000L);
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aConnectionThatSendsNothingIsClosedQuietlyAfterTheHeaderTimeout() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(5000);
            long start = System.nanoTime();
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            assertThat((System.nanoTime() - start) / 1_000_000).isBetween(900L, 3000L);
        }
    }

    @Test
    void aBodyThatStopsGets408AfterTheBodyTimeoutAndTheOriginNeverGetsItWhole() throws Exception {
        int before = origin.completeRequests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + "x".repeat(10));
            RawHttp.Response r = raw.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(origin.completeRequests.get()).isEqualTo(before);
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 2);
    }

    @Test
    void aBodyCrawlingBelowTheMinimumRateGets408ThoughNoGapReachesTheBodyTimeout() throws Exception {
        int before = origin.completeRequests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            long start = System.nanoTime();
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
            // 10 bytes every 100 ms is 100 B/s, far below min_body_rate 1k; no gap is near 700 ms.
            // The crawl ends when Portico gives up and closes the connection.
            Pace.times(Duration.ofMillis(100), 1000, () -> {
                raw.send("0123456789");
                return true;
            });
            RawHttp.Response r = raw.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat((System.nanoTime() - start) / 1_000_000).isBetween(600L, 4000L);
        }
        assertThat(origin.completeRequests.get()).isEqualTo(before);
    }

    @Test
    void aBodyAtAGoodRateWithShortPausesIsProxied() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 6000\r\n\r\n");
            // 1,000 bytes every 300 ms: pauses well within the body timeout, a rate above the minimum.
            Pace.times(Duration.ofMillis(300), 6, () -> {
                raw.send("y".repeat(1000));
                return true;
            }).get(10, TimeUnit.SECONDS);
            RawHttp.Response r = raw.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("received 6000");
        }
    }

    @Test
    void aClientThatStopsReadingIsDisconnectedAfterTheSendTimeoutAndTheUpstreamIsReleased() throws Exception {
        int openBefore = portico.server().lifecycle().openConnections();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new java.net.InetSocketAddress("127.0.0.1", portico.port()));
            OutputStream out = s.getOutputStream();
            out.write("GET /download/1073741824 HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            assertThat(in.read()).isEqualTo('H');
            // ...and never read again: Portico's buffers fill, then send_timeout runs out.
            await().atMost(Duration.ofSeconds(10)).until(() -> origin.openConnections.get() == 0
                    && portico.server().lifecycle().openConnections() <= openBefore);
        }
    }
}
