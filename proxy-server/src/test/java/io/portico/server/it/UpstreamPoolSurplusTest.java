package io.portico.server.it;

import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A burst of more requests in flight than {@code pool.max_idle}: the connections it needed stay
 * for {@code surplus_idle_timeout}, so the next burst reuses them instead of connecting again, and
 * are closed after it down to {@code max_idle} per event loop; with {@code 0s} they close at once,
 * as nginx's {@code keepalive} does.
 */
class UpstreamPoolSurplusTest {

    private static final int BURST = 4;

    @Test
    void aSecondBurstReusesTheFirstBurstsConnectionsAndTheSurplusClosesLater() throws Exception {
        try (TestOrigin origin = new TestOrigin("surplus");
             PorticoHarness portico = PorticoHarness.proxyTo(origin,
                     "    pool: { max_idle: 1, surplus_idle_timeout: 1s }")) {
            HttpClient client = PorticoHarness.client();
            burst(client, portico, origin);
            assertThat(origin.connections.get()).isEqualTo(BURST);
            burst(client, portico, origin);
            assertThat(origin.connections.get()).as("no new upstream connection for the second burst").isEqualTo(BURST);
            // Two event loops keep one idle connection each; the other two close.
            await().atMost(Duration.ofSeconds(10)).until(() -> origin.openConnections.get() <= 2);
            assertThat(origin.openConnections.get()).isPositive();
        }
    }

    @Test
    void withNoSurplusTimeoutConnectionsBeyondMaxIdleCloseAtOnce() throws Exception {
        try (TestOrigin origin = new TestOrigin("no-surplus");
             PorticoHarness portico = PorticoHarness.proxyTo(origin,
                     "    pool: { max_idle: 1, surplus_idle_timeout: 0s }")) {
            HttpClient client = PorticoHarness.client();
            burst(client, portico, origin);
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 2);
            burst(client, portico, origin);
            assertThat(origin.connections.get()).as("the second burst connects again").isGreaterThan(BURST);
        }
    }

    @Test
    void aBackendWithMaxConnectionsKeepsNoSurplus() throws Exception {
        try (TestOrigin origin = new TestOrigin("capped");
             PorticoHarness portico = PorticoHarness.start("""
                     upstreams:
                       origin:
                         backends:
                           - address: 127.0.0.1:%d
                             max_connections: 100
                         pool: { max_idle: 1, surplus_idle_timeout: 60s }
                     servers:
                       - default: true
                         routes:
                           - match: { prefix: / }
                             upstream: origin
                     """.formatted(origin.port()))) {
            HttpClient client = PorticoHarness.client();
            burst(client, portico, origin);
            // The slots the burst used are given back at once, for every event loop to use.
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 2);
        }
    }

    /** {@link #BURST} requests held at the origin until all have arrived, then answered together. */
    private static void burst(HttpClient client, PorticoHarness portico, TestOrigin origin) {
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < BURST; i++) {
            answers.add(client.sendAsync(HttpRequest.newBuilder(portico.uri("/held")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> origin.held.get() == BURST);
        origin.releaseHeld();
        for (CompletableFuture<HttpResponse<String>> answer : answers) {
            HttpResponse<String> r = answer.join();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("released");
        }
    }
}
