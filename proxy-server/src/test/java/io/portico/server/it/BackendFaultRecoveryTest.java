package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Each backend fault, one at a time: the status or clean abort the client sees, whether it was
 * retried, and that the upstream connection that saw the fault is closed while the count of open
 * upstream connections returns to what the pools hold (one idle connection per event loop at most).
 * Refused connections and DNS failures are in BackendFaultsTest and DnsReresolutionTest.
 */
class BackendFaultRecoveryTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("faults");
        portico = PorticoHarness.proxyTo(origin, """
                    response_header_timeout: 500ms
                    read_timeout: 500ms
                    retry: { attempts: 2, min_per_second: 1000 }
                """);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    /** @param status the status the client gets, or 0 for a response cut mid-body and a closed connection */
    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource({
        "/hang, 504",
        "/garbage, 502",
        "/reset, 502",
        "/reset-mid-body, 0",
        "/slow-body, 0",
    })
    void afterTheFaultTheUpstreamConnectionIsClosedAndOpenConnectionsReturnToBaseline(String path, int status)
            throws Exception {
        int before = origin.requests.get();
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r;
            try {
                r = raw.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n").read();
            } catch (IOException cut) {
                r = null;
            }
            if (status == 0) {
                assertThat(r == null || r.body().length < 1_000_000).as("a cut response").isTrue();
                assertThat(raw.closedByServer()).isTrue();
            } else {
                assertThat(r.status()).isEqualTo(status);
                assertThat(r.text()).contains("request_id: " + r.header("x-request-id"));
                // The client's connection goes on serving.
                assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            }
        }
        // Retried at most once: only an idempotent request that failed on a reused connection before
        // any response byte (it may have been a keep-alive race) goes again, on a fresh connection.
        assertThat(origin.requests.get() - before).isLessThanOrEqualTo(status == 0 ? 2 : 3);
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openThatServed(path) == 0);
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 2);
    }

    @Test
    void anIdempotentRequestHitByAKeepAliveRaceIsRetriedOnAFreshConnection() throws Exception {
        // The pooled connection drops this request as it arrives: Portico must retry, not answer 502.
        RawHttp.Response r = retriedOnOneFreshConnection("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).isEqualTo("hello from faults");
    }

    /** An empty chunked body sends nothing but its end: the retry sends the head and the end again. */
    @Test
    void anIdempotentRequestWithAnEmptyChunkedBodyHitByAKeepAliveRaceIsRetriedWhole() throws Exception {
        RawHttp.Response r = retriedOnOneFreshConnection(
                "PUT /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
    }

    @Test
    void aRequestWithABodyHitByAKeepAliveRaceIsNotRetriedAndGets502() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            armDrop(raw);
            int complete = origin.completeRequests.get();
            RawHttp.Response r = raw.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello").read();
            assertThat(r.status()).isEqualTo(502);
            assertThat(origin.completeRequests.get()).isEqualTo(complete);
        }
        awaitConnectionsSettled();
    }

    /**
     * Sends {@code request} into a keep-alive race (its pooled connection drops it as it arrives)
     * and returns the answer, which came over one fresh connection; that connection took the whole
     * request, end included, and serves the next one.
     */
    private static RawHttp.Response retriedOnOneFreshConnection(String request) throws Exception {
        RawHttp.Response r;
        try (RawHttp raw = new RawHttp(portico.port())) {
            armDrop(raw);
            int connectionsBefore = origin.connections.get();
            r = raw.send(request).read();
            assertThat(origin.connections.get()).isEqualTo(connectionsBefore + 1);
            assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(origin.connections.get()).isEqualTo(connectionsBefore + 1);
        }
        awaitConnectionsSettled();
        return r;
    }

    /** The origin drops the next request on the pooled connection this request leaves behind. */
    private static void armDrop(RawHttp raw) throws Exception {
        assertThat(raw.send("GET /arm-drop HTTP/1.1\r\nHost: a\r\n\r\n").read().text()).isEqualTo("armed");
    }

    private static void awaitConnectionsSettled() {
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openThatServed("/arm-drop") == 0);
        await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 2);
    }
}
