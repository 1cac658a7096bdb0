package io.portico.server.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Draining an HTTP/2 connection: two GOAWAY frames around a PING, the stream in flight finishes, then the connection closes. */
class Http2GracefulShutdownTest {

    TestOrigin origin;
    PorticoHarness portico;

    @BeforeEach
    void start() throws Exception {
        origin = new TestOrigin("drain");
        portico = PorticoHarness.proxyTo(origin, "");
    }

    @AfterEach
    void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void aStreamInFlightFinishesBetweenTwoGoAwaysAndTheConnectionThenCloses() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            h2.data(1, new byte[1000], false);
            await().atMost(Duration.ofSeconds(5)).until(() -> portico.server().lifecycle().inFlight() == 1);

            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(
                    () -> portico.server().shutdown(Duration.ofSeconds(10)));

            RawH2.Frame first = h2.awaitGoAway();
            assertThat(first.errorCode()).isZero();
            assertThat(first.lastStreamId()).isEqualTo(Integer.MAX_VALUE);
            RawH2.Frame second = h2.awaitGoAway();
            assertThat(second.errorCode()).isZero();
            assertThat(second.lastStreamId()).isEqualTo(1);
            assertThat(shutdown).isNotDone();

            h2.data(1, new byte[500], true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("received 1500");
            assertThat(h2.closedByServer()).isTrue();
            shutdown.get();
        }
    }

    @Test
    void anIdleConnectionGetsGoAwayAndClosesAtOnce() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/hello"), true);
            assertThat(h2.response(1).status()).isEqualTo("200");
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(
                    () -> portico.server().shutdown(Duration.ofSeconds(10)));
            RawH2.Frame goAway = h2.awaitGoAway();
            assertThat(goAway.errorCode()).isZero();
            assertThat(goAway.lastStreamId()).isEqualTo(1);
            assertThat(h2.closedByServer()).isTrue();
            shutdown.get();
        }
    }
}
