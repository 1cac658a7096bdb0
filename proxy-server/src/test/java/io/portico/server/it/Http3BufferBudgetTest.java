package io.portico.server.it;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import io.portico.server.limits.BufferBudget;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * HTTP/3 request streams live under limits.buffer_memory as TCP connections do: while the budget
 * is exceeded they read nothing (a new request waits in QUIC's flow-control window), and they
 * read again once it is not. Before, a stream was outside the budget and served straight away.
 */
class Http3BufferBudgetTest {

    @Test
    void whileTheBudgetIsExceededANewHttp3RequestWaitsAndIsServedAfter() throws Exception {
        SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
        try (TestOrigin origin = new TestOrigin("budget")) {
            PorticoServer server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                    workers: 1
                    admin: {address: "127.0.0.1:0"}
                    listeners:
                      - name: plain
                        address: 127.0.0.1:0
                      - name: https
                        address: 127.0.0.1:0
                        tls:
                          certificates: [{cert: %s, key: %s}]
                        http3: {enabled: true}
                    access_log: {enabled: false}
                    limits:
                      buffer_memory: 256k
                      connection_buffer: 64k
                    upstreams:
                      origin:
                        backends: [{address: "127.0.0.1:%d"}]
                    servers:
                      - routes: [{match: {prefix: /}, upstream: origin}]
                    """.formatted(cert.certificate(), cert.privateKey(), origin.port())));
            List<Socket> stalled = new ArrayList<>();
            try (H3Client client = new H3Client(server.http3Address("https").getPort(), cert.cert())) {
                assertThat(client.get("/hello").status()).isEqualTo(200);
                BufferBudget budget = server.bufferBudget();
                // HTTP/1.1 downloads nobody reads fill their buffers past buffer_memory.
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket();
                    s.setReceiveBufferSize(16 * 1024);
                    s.connect(new InetSocketAddress("127.0.0.1", server.address("plain").getPort()));
                    s.getOutputStream().write(("GET /download/" + (8 << 20) + " HTTP/1.1\r\nHost: a\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    stalled.add(s);
                }
                await().atMost(Duration.ofSeconds(20)).until(budget::pressure);

                CompletableFuture<H3Client.Response> waiting = CompletableFuture.supplyAsync(() -> {
                    try {
                        return client.get("/hello");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                // Held while the pressure lasts (the stalled readers keep it up).
                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                        .until(() -> !waiting.isDone() && budget.pressure());

                for (Socket s : stalled) {
                    s.setSoLinger(true, 0);
                    s.close();
                }
                stalled.clear();
                await().atMost(Duration.ofSeconds(20)).until(() -> !budget.pressure());
                H3Client.Response r = waiting.get();
                assertThat(r.status()).as(r::describe).isEqualTo(200);
                assertThat(r.body()).isNotEmpty();
            } finally {
                for (Socket s : stalled) {
                    s.setSoLinger(true, 0);
                    s.close();
                }
                server.close();
                cert.delete();
            }
        }
    }
}
