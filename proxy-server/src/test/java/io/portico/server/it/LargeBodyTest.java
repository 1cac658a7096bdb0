package io.portico.server.it;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A gigabyte each way streams through with flat memory: backpressure holds Portico's buffers to a
 * few socket buffers' worth however fast either side is.
 */
@MeasuresDirectMemory
class LargeBodyTest {

    private static final long GIB = 1L << 30;
    /** Pooled direct memory Portico may hold while a gigabyte passes (measured: about 1-3 MiB). */
    private static final long MEMORY_BOUND = 16L << 20;

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("big");
        portico = PorticoHarness.proxyTo(origin, "");
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void downloadsOneGibibyteWithBoundedMemory() throws Exception {
        try (PeakDirectMemory peak = new PeakDirectMemory()) {
            HttpResponse<InputStream> r = PorticoHarness.client().send(
                    HttpRequest.newBuilder(portico.uri("/download/" + GIB)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).isEqualTo(200);
            long total = 0;
            byte[] buf = new byte[256 * 1024];
            try (InputStream in = r.body()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    total += n;
                }
            }
            assertThat(total).isEqualTo(GIB);
            System.out.println("download: peak direct memory " + (peak.peak() >> 10) + " KiB");
            assertThat(peak.peak()).isPositive().isLessThan(MEMORY_BOUND);
        }
    }

    @Test
    void uploadsOneGibibyteWithBoundedMemory() throws Exception {
        try (PeakDirectMemory peak = new PeakDirectMemory()) {
            HttpRequest request = HttpRequest.newBuilder(portico.uri("/upload"))
                    .POST(HttpRequest.BodyPublishers.fromPublisher(
                            HttpRequest.BodyPublishers.ofInputStream(() -> new ZeroStream(GIB)), GIB))
                    .build();
            HttpResponse<String> r = PorticoHarness.client().send(request, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("received " + GIB);
            System.out.println("upload: peak direct memory " + (peak.peak() >> 10) + " KiB");
            assertThat(peak.peak()).isPositive().isLessThan(MEMORY_BOUND);
        }
    }

    /** Samples the pooled allocator's direct memory in use while a transfer runs. */
    static final class PeakDirectMemory implements AutoCloseable {
        private final AtomicLong peak = new AtomicLong();
        private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();

        PeakDirectMemory() {
            // Portico allocates from Netty's default allocator (adaptive in 4.2); sample that one.
            ByteBufAllocatorMetricProvider metrics = (ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT;
            sampler.scheduleAtFixedRate(() -> peak.accumulateAndGet(
                    metrics.metric().usedDirectMemory(), Math::max), 0, 5, TimeUnit.MILLISECONDS);
        }

        long peak() {
            return peak.get();
        }

        @Override
        public void close() {
            sampler.shutdownNow();
        }
    }

    /** {@code size} zero bytes, generated as they are read. */
    static final class ZeroStream extends InputStream {
        private long left;

        ZeroStream(long size) {
            this.left = size;
        }

        @Override
        public int read() {
            if (left == 0) {
                return -1;
            }
            left--;
            return 0;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (left == 0) {
                return -1;
            }
            int n = (int) Math.min(len, left);
            java.util.Arrays.fill(b, off, off + n, (byte) 0);
            left -= n;
            return n;
        }
    }
}
