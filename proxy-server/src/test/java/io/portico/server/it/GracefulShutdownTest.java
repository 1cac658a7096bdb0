package io.portico.server.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** What clients see while Portico drains: requests in flight finish, nothing new gets in, idle connections close. */
class GracefulShutdownTest {

    SlowOrigin origin;
    PorticoHarness portico;

    @BeforeEach
    void start() throws Exception {
        origin = new SlowOrigin();
        portico = PorticoHarness.start("""
                upstreams:
                  slow:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: slow
                """.formatted(origin.port()));
    }

    @AfterEach
    void stop() {
        origin.release();
        portico.close();
        origin.close();
    }

    @Test
    void aRequestInFlightCompletesWithConnectionCloseWhileNewConnectionsAreRefusedAndIdleOnesClosed()
            throws Exception {
        try (RawHttp idle = new RawHttp(portico.port()); RawHttp busy = new RawHttp(portico.port())) {
            RawHttp.Response first = idle.send("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.header("connection")).isNull();

            busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.waiting.get() == 1);

            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(
                    () -> portico.server().shutdown(Duration.ofSeconds(10)));
            await().atMost(Duration.ofSeconds(5)).until(() -> portico.server().lifecycle().draining());

            assertThat(idle.closedByServer()).isTrue();
            assertThatThrownBy(() -> new Socket("127.0.0.1", portico.port()).close())
                    .isInstanceOf(ConnectException.class);
            assertThat(shutdown).isNotDone();

            origin.release();
            RawHttp.Response slow = busy.read();
            assertThat(slow.status()).isEqualTo(200);
            assertThat(slow.text()).isEqualTo("slow done");
            assertThat(slow.header("connection")).isEqualTo("close");
            assertThat(busy.closedByServer()).isTrue();
            // Up to 10 s more when an io_uring loop hangs in its own shutdown (PorticoServer.awaitStop).
            await().atMost(Duration.ofSeconds(15)).until(shutdown::isDone);
        }
    }

    @Test
    void aRequestStillInFlightAtTheDrainTimeoutIsCut() throws Exception {
        try (RawHttp busy = new RawHttp(portico.port())) {
            busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> origin.waiting.get() == 1);
            long start = System.nanoTime();
            portico.server().shutdown(Duration.ofMillis(300));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(250), Duration.ofSeconds(5));
            assertThat(busy.closedByServer()).isTrue();
        }
    }

    @Test
    void shutdownWithNothingInFlightReturnsPromptly() throws Exception {
        try (RawHttp idle = new RawHttp(portico.port())) {
            assertThat(idle.send("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            long start = System.nanoTime();
            portico.server().shutdown(Duration.ofSeconds(10));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(idle.closedByServer()).isTrue();
        }
    }

    /**
     * An origin whose {@code /slow} answers only when the test calls {@link #release()}; {@code /fast}
     * answers at once. Its handler threads block on purpose: they play a slow application.
     */
    static final class SlowOrigin implements AutoCloseable {
        final AtomicInteger waiting = new AtomicInteger();
        private final CountDownLatch gate = new CountDownLatch(1);
        private final ExecutorService threads = Executors.newCachedThreadPool();
        private final HttpServer server;

        SlowOrigin() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            server.setExecutor(threads);
            server.createContext("/fast", ex -> answer(ex, "fast"));
            server.createContext("/slow", ex -> {
                waiting.incrementAndGet();
                try {
                    if (!gate.await(30, TimeUnit.SECONDS)) {
                        ex.close();
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    ex.close();
                    return;
                }
                answer(ex, "slow done");
            });
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        void release() {
            gate.countDown();
        }

        private static void answer(HttpExchange ex, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }

        @Override
        public void close() {
            server.stop(0);
            threads.shutdownNow();
        }
    }
}
