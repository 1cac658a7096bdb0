package io.portico.server.it;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What a client sees when the backend fails, and that Portico leaks no upstream connection after it. */
class BackendFaultsTest {

    private static final String FAST_TIMEOUTS =
            "    response_header_timeout: 500ms\n    read_timeout: 500ms\n    connect_timeout: 1s\n";

    @Test
    void backendDownGives502NamingTheRequestId() throws Exception {
        int dead = unusedPort();
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  dead:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: dead
                """.formatted(dead))) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(502);
            String id = r.headers().firstValue("x-request-id").orElseThrow();
            assertThat(r.body()).contains("502 Bad Gateway").contains("request_id: " + id);
        }
    }

    @Test
    void aBackendThatStopsReadingTheRequestBodyGives504AfterSendTimeout() throws Exception {
        try (ServerSocket deaf = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            deaf.setReceiveBufferSize(16 * 1024);
            java.util.List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    java.net.Socket s = deaf.accept();
                    held.add(s);
                    // The request head, then nothing more is read and nothing answered.
                    java.io.InputStream in = s.getInputStream();
                    int matched = 0;
                    while (matched < 4) {
                        int c = in.read();
                        if (c < 0) {
                            return;
                        }
                        matched = c == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : c == '\r' ? 1 : 0;
                    }
                } catch (IOException closed) {
                    // the test ended
                }
            }, "deaf-origin");
            acceptor.setDaemon(true);
            acceptor.start();
            try (PorticoHarness p = PorticoHarness.start("""
                    upstreams:
                      deaf:
                        send_timeout: 1s
                        backends:
                          - address: 127.0.0.1:%d
                    servers:
                      - max_body_size: 0
                        routes:
                          - match: { prefix: / }
                            upstream: deaf
                    """.formatted(deaf.getLocalPort()));
                 java.net.Socket client = new java.net.Socket("127.0.0.1", p.port())) {
                client.setSoTimeout(15_000);
                java.io.OutputStream out = client.getOutputStream();
                out.write("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n"
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                Thread writer = new Thread(() -> {
                    byte[] chunk = new byte[64 * 1024];
                    try {
                        while (true) {
                            out.write(chunk);
                        }
                    } catch (IOException closed) {
                        // Portico closed the connection after its answer
                    }
                }, "uploader");
                writer.setDaemon(true);
                writer.start();
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                        client.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII));
                // nginx's proxy_send_timeout: the backend took none of the body for that long.
                assertThat(in.readLine()).isEqualTo("HTTP/1.1 504 Gateway Timeout");
            } finally {
                for (java.net.Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void hangingBackendGives504AndItsConnectionIsClosed() throws Exception {
        try (TestOrigin origin = new TestOrigin("hang"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/hang")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(504);
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 0);
        }
    }

    @Test
    void garbageFromBackendGives502() throws Exception {
        try (TestOrigin origin = new TestOrigin("garbage"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/garbage")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(502);
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 0);
        }
    }

    @Test
    void backendResetBeforeAnsweringGives502() throws Exception {
        try (TestOrigin origin = new TestOrigin("reset"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send("POST /reset HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi").read();
                assertThat(r.status()).isEqualTo(502);
            }
        }
    }

    @Test
    void backendResetMidBodyCutsTheResponseAndClosesTheClient() throws Exception {
        try (TestOrigin origin = new TestOrigin("midbody"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send("GET /reset-mid-body HTTP/1.1\r\nHost: a\r\n\r\n").read();
                // The head promised 1,000,000 bytes; the client gets fewer and then the connection ends.
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body().length).isLessThan(1_000_000);
                assertThat(raw.closedByServer()).isTrue();
            }
            HttpResponse<String> next = PorticoHarness.client().send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(next.statusCode()).isEqualTo(200);
        }
    }

    /**
     * A head whose body never comes: the client gets the head, then the connection ends, as for any
     * body cut short (Portico holds a small response's head for its body, to send both at once).
     */
    @Test
    void aBackendClosingRightAfterItsHeadCutsTheResponseAfterTheHead() throws Exception {
        try (TestOrigin origin = new TestOrigin("headonly"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send("GET /head-then-close HTTP/1.1\r\nHost: a\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).isEmpty();
                assertThat(raw.closedByServer()).isTrue();
            }
        }
    }

    @Test
    void silentBackendMidBodyIsCutAfterTheReadTimeout() throws Exception {
        try (TestOrigin origin = new TestOrigin("slow"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send("GET /slow-body HTTP/1.1\r\nHost: a\r\n\r\n").read();
                assertThat(r.body().length).isEqualTo(100);
                assertThat(raw.closedByServer()).isTrue();
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 0);
        }
    }

    @Test
    void aPooledConnectionTheBackendClosedIsNeverHandedOut() throws Exception {
        try (TestOrigin origin = new TestOrigin("closer"); PorticoHarness p = PorticoHarness.proxyTo(origin, "")) {
            HttpClient client = PorticoHarness.client();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("/close-after")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() == 0);
                HttpResponse<String> next = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(next.statusCode()).isEqualTo(200);
                assertThat(next.body()).isEqualTo("hello from closer");
            }
        }
    }

    @Test
    void retriesOnTheNextBackendWhenAConnectIsRefused() throws Exception {
        int dead = unusedPort();
        try (TestOrigin live = new TestOrigin("live");
             PorticoHarness p = PorticoHarness.start("""
                     upstreams:
                       pair:
                         max_fails: 0
                         retry: { attempts: 2, min_per_second: 1000 }
                         backends:
                           - address: 127.0.0.1:%d
                           - address: 127.0.0.1:%d
                     servers:
                       - max_body_size: 0
                         routes:
                           - match: { prefix: / }
                             upstream: pair
                     """.formatted(dead, live.port()))) {
            HttpClient client = PorticoHarness.client();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> get = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(get.statusCode()).as(get.body()).isEqualTo(200);
                HttpResponse<String> post = client.send(HttpRequest.newBuilder(p.uri("/upload"))
                        .POST(HttpRequest.BodyPublishers.ofString("abc")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(post.body()).isEqualTo("received 3");
            }
        }
    }

    @Test
    void aFailedBackendIsSkippedForFailTimeout() throws Exception {
        int dead = unusedPort();
        try (TestOrigin live = new TestOrigin("live");
             PorticoHarness p = PorticoHarness.start("""
                     upstreams:
                       pair:
                         max_fails: 1
                         fail_timeout: 30s
                         retry: { attempts: 1 }
                         backends:
                           - address: 127.0.0.1:%d
                           - address: 127.0.0.1:%d
                     servers:
                       - routes:
                           - match: { prefix: / }
                             upstream: pair
                     """.formatted(dead, live.port()))) {
            HttpClient client = PorticoHarness.client();
            int bad = 0;
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                bad += r.statusCode() == 502 ? 1 : 0;
            }
            // With no retries, only the first request per event loop can meet the dead backend.
            assertThat(bad).isLessThanOrEqualTo(2);
        }
    }

    @Test
    void upstreamConnectionsReturnToIdleCountAfterFaults() throws Exception {
        try (TestOrigin origin = new TestOrigin("count"); PorticoHarness p = PorticoHarness.proxyTo(origin, FAST_TIMEOUTS)) {
            HttpClient client = PorticoHarness.client();
            client.send(HttpRequest.newBuilder(p.uri("/hello")).build(), HttpResponse.BodyHandlers.ofString());
            await().until(() -> origin.openConnections.get() == 1);
            for (String path : new String[] {"/hang", "/garbage", "/reset-mid-body", "/status/500"}) {
                try {
                    client.send(HttpRequest.newBuilder(p.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
                } catch (IOException expectedForCutResponses) {
                    // a cut response is what the client must see for /reset-mid-body
                }
            }
            client.send(HttpRequest.newBuilder(p.uri("/hello")).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.openConnections.get() <= 1);
        }
    }

    static int unusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
