package io.portico.server.it;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Connection caps: at the listener's or the global cap accepting pauses; over the per-address cap a connection is closed. */
class ConnectionLimitsTest {

    private static String proxyTo(TestOrigin origin, String globalLimits) {
        return """
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                %s
                """.formatted(origin.port(), globalLimits);
    }

    @Test
    void atTheListenerCapANewClientWaitsInTheBacklogAndIsServedWhenAConnectionCloses() throws Exception {
        try (TestOrigin origin = new TestOrigin("cap");
             PorticoHarness p = PorticoHarness.start(proxyTo(origin, ""), """
                         limits:
                           max_connections: 3
                     """)) {
            assertCapHolds(p, 3, () -> p.server().gate("http").paused());
            assertThat(p.server().gate("http").pauses()).isPositive();
        }
    }

    @Test
    void atTheGlobalCapEveryListenerPausesAndResumes() throws Exception {
        try (TestOrigin origin = new TestOrigin("global");
             PorticoHarness p = PorticoHarness.start(proxyTo(origin, """
                     limits:
                       max_connections: 2
                     """))) {
            assertCapHolds(p, 2, () -> p.server().gate("http").paused());
        }
    }

    /** Opens {@code cap} served connections, then one more that must wait until one of them closes. */
    private static void assertCapHolds(PorticoHarness p, int cap, java.util.concurrent.Callable<Boolean> paused)
            throws Exception {
        List<RawHttp> open = new ArrayList<>();
        try {
            for (int i = 0; i < cap; i++) {
                RawHttp raw = new RawHttp(p.port());
                open.add(raw);
                assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            }
            await().atMost(Duration.ofSeconds(5)).until(paused);
            try (Socket waiting = new Socket("127.0.0.1", p.port())) {
                // The kernel completed the handshake (backlog); Portico has not accepted it, so no answer comes.
                waiting.setSoTimeout(700);
                waiting.getOutputStream().write("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n".getBytes());
                InputStream in = waiting.getInputStream();
                boolean answered;
                try {
                    answered = in.read() != -1;
                } catch (SocketTimeoutException stillWaiting) {
                    answered = false;
                }
                assertThat(answered).as("served while %d connections are open", cap).isFalse();
                assertThat(p.server().openConnections()).isEqualTo(cap);
                open.remove(0).close();
                waiting.setSoTimeout(5000);
                RawHttp.Response r = readRest(in);
                assertThat(r.status()).isEqualTo(200);
            }
        } finally {
            for (RawHttp raw : open) {
                raw.close();
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> p.server().openConnections() == 0);
        assertThat(paused.call()).isFalse();
    }

    private static RawHttp.Response readRest(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            head.append((char) c);
            if (head.toString().endsWith("\r\n\r\n")) {
                break;
            }
        }
        String statusLine = head.substring(0, head.indexOf("\r\n"));
        return new RawHttp.Response(statusLine, Integer.parseInt(statusLine.split(" ")[1]), java.util.Map.of(),
                new byte[0], java.util.Map.of());
    }

    @Test
    void overThePerAddressCapANewConnectionIsClosedAtOnceWhileOthersAreServed() throws Exception {
        try (TestOrigin origin = new TestOrigin("per-ip");
             PorticoHarness p = PorticoHarness.start(proxyTo(origin, ""), """
                         limits:
                           max_connections_per_ip: 2
                     """);
             RawHttp a = new RawHttp(p.port()); RawHttp b = new RawHttp(p.port())) {
            assertThat(a.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(b.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            try (RawHttp third = new RawHttp(p.port())) {
                assertThat(third.closedByServer()).isTrue();
            }
            await().until(() -> p.server().gate("http").refusedPerIp() == 1);
            assertThat(a.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            b.close();
            await().atMost(Duration.ofSeconds(5)).until(() -> p.server().gate("http").open() == 1);
            try (RawHttp again = new RawHttp(p.port())) {
                assertThat(again.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            }
        }
    }
}
