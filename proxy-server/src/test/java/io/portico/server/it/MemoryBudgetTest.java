package io.portico.server.it;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Slow readers cannot make Portico hold more memory: one connection is bounded by its
 * connection_buffer, all together by buffer_memory, and nothing is lost on the way.
 */
@MeasuresDirectMemory
class MemoryBudgetTest {

    private static final long BOUND = 16L << 20;

    private static String config(TestOrigin origin, String limits) {
        return """
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                limits:
                %s
                """.formatted(origin.port(), limits);
    }

    @Test
    void aSlowReaderDownloadingALargeBodyKeepsDirectMemoryFlat() throws Exception {
        long size = 48L << 20;
        try (TestOrigin origin = new TestOrigin("big");
             PorticoHarness p = PorticoHarness.start(config(origin, "  connection_buffer: 64k"));
             LargeBodyTest.PeakDirectMemory peak = new LargeBodyTest.PeakDirectMemory()) {
            long got = slowDownload(p.port(), size, 16 * 1024, 1);
            assertThat(got).isEqualTo(size);
            System.out.println("slow reader: peak direct memory " + (peak.peak() >> 10) + " KiB");
            assertThat(peak.peak()).isLessThan(BOUND);
        }
    }

    @Test
    void manySlowReadersTogetherTripTheGlobalBudgetAndAllFinishWhole() throws Exception {
        long size = 8L << 20;
        int clients = 12;
        try (TestOrigin origin = new TestOrigin("many");
             PorticoHarness p = PorticoHarness.start(config(origin, """
                       buffer_memory: 256k
                       connection_buffer: 64k
                     """));
             LargeBodyTest.PeakDirectMemory peak = new LargeBodyTest.PeakDirectMemory()) {
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                List<Future<Long>> downloads = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    downloads.add(pool.submit(() -> slowDownload(p.port(), size, 8 * 1024, 1)));
                }
                for (Future<Long> f : downloads) {
                    assertThat(f.get(120, TimeUnit.SECONDS)).isEqualTo(size);
                }
            } finally {
                pool.shutdownNow();
            }
            var budget = p.server().bufferBudget();
            System.out.println("budget: peak buffered " + (budget.peak() >> 10) + " KiB, pressure events "
                    + budget.pressureEvents() + ", peak direct memory " + (peak.peak() >> 10) + " KiB");
            assertThat(budget.pressureEvents()).isPositive();
            // Sampling can overshoot by what each connection reads within one period, each within its own buffer.
            assertThat(budget.peak()).isLessThan((256L << 10) + clients * (128L << 10));
            assertThat(peak.peak()).isLessThan(BOUND);
            assertThat(budget.pressure()).isFalse();
        }
    }

    /**
     * Clients that stop reading trip the budget; when they vanish with their buffers full, the
     * budget must let go of them: reading resumes and the next client is served.
     */
    @Test
    void clientsThatVanishWhileOverTheirBufferReleaseTheBudget() throws Exception {
        int clients = 8;
        try (TestOrigin origin = new TestOrigin("vanish");
             PorticoHarness p = PorticoHarness.start(config(origin, """
                       buffer_memory: 256k
                       connection_buffer: 64k
                     """))) {
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < clients; i++) {
                    Socket s = new Socket();
                    s.setReceiveBufferSize(16 * 1024);
                    s.connect(new InetSocketAddress("127.0.0.1", p.port()));
                    s.getOutputStream().write(("GET /download/" + (8 << 20) + " HTTP/1.1\r\nHost: a\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    stalled.add(s);
                }
                var budget = p.server().bufferBudget();
                await().atMost(Duration.ofSeconds(20)).until(budget::pressure);
            } finally {
                for (Socket s : stalled) {
                    s.setSoLinger(true, 0);
                    s.close();
                }
            }
            var budget = p.server().bufferBudget();
            await().atMost(Duration.ofSeconds(20)).until(() -> !budget.pressure());
            assertThat(slowDownload(p.port(), 256 << 10, 64 * 1024, 1)).isEqualTo(256 << 10);
            await().atMost(Duration.ofSeconds(20)).until(() -> budget.buffered() == 0);
        }
    }

    /** Reads a body of {@code size} in {@code chunk}-byte reads with {@code pauseMs} between them. */
    static long slowDownload(int port, long size, int chunk, long pauseMs) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setReceiveBufferSize(16 * 1024);
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /download/" + size + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    return -1;
                }
                head.append((char) c);
            }
            assertThat(head.toString()).startsWith("HTTP/1.1 200");
            byte[] buf = new byte[chunk];
            long[] total = {0};
            // Pacing the reader is the point: this client reads one chunk every pauseMs.
            Pace.every(Duration.ofMillis(pauseMs), () -> {
                int n = in.read(buf);
                if (n < 0) {
                    return false;
                }
                total[0] += n;
                return true;
            }).get(5, TimeUnit.MINUTES);
            return total[0];
        }
    }
}
