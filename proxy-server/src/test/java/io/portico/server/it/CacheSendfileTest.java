package io.portico.server.it;

import io.portico.server.config.TransportKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Large cache hits sent from the disk tier's open files (sendfile on epoll and NIO) rather than
 * copied from memory: the same bytes, whole and in ranges, and the same backpressure, send timeout
 * and memory budget as a copied response.
 */
class CacheSendfileTest {

    private static final int SIZE = 1 << 20;
    private static final String BODY = text(SIZE);

    @TempDir
    Path tmp;
    private ScriptedOrigin origin;
    private PorticoHarness portico;

    @AfterEach
    void stop() {
        if (portico != null) {
            portico.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    /** Letters and digits from a fixed seed: a wrong offset or a lost chunk shows as different text. */
    private static String text(int n) {
        Random r = new Random(7);
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    private PorticoHarness start(String transport, String listenerExtra, String topLevel) throws Exception {
        origin = new ScriptedOrigin();
        origin.on("/big", r -> ScriptedOrigin.Reply.ok(BODY, "Cache-Control", "max-age=600", "Content-Type", "application/octet-stream"));
        origin.on("/small", r -> ScriptedOrigin.Reply.ok("s".repeat(1000), "Cache-Control", "max-age=600"));
        portico = PorticoHarness.start("""
                transport: %s
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - default: true
                    routes:
                      - match: { prefix: / }
                        upstream: origin
                        cache:
                          enabled: true
                cache:
                  disk_path: %s
                %s
                """.formatted(StreamHarness.transport(transport), origin.port(), tmp.resolve("cache"), topLevel), listenerExtra);
        return portico;
    }

    private HttpResponse<String> get(String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(portico.uri(path));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return PorticoHarness.client().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Fills the cache with /big and waits until its disk-tier file is written and kept open. */
    private void fill() throws Exception {
        assertText(get("/big").body(), BODY);
        await().until(() -> portico.server().cache().stats().openFiles() == 1);
    }

    private long fromFiles() {
        return portico.server().cache().stats().bytesFromFiles();
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "nio", "epoll"})
    void largeHitsAreTheStoredBytesWholeAndInRanges(String transport) throws Exception {
        start(transport, "", "");
        fill();
        HttpResponse<String> whole = get("/big");
        assertThat(whole.headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        assertThat(whole.headers().firstValue("content-length")).hasValue(Integer.toString(SIZE));
        assertText(whole.body(), BODY);

        HttpResponse<String> middle = get("/big", "Range", "bytes=70000-170000");
        assertThat(middle.statusCode()).isEqualTo(206);
        assertThat(middle.headers().firstValue("content-range")).hasValue("bytes 70000-170000/" + SIZE);
        assertText(middle.body(), BODY.substring(70000, 170001));

        HttpResponse<String> tail = get("/big", "Range", "bytes=-700");
        assertThat(tail.statusCode()).isEqualTo(206);
        assertText(tail.body(), BODY.substring(SIZE - 700));

        HttpResponse<String> head = PorticoHarness.client().send(HttpRequest.newBuilder(portico.uri("/big"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.headers().firstValue("content-length")).hasValue(Integer.toString(SIZE));
        assertThat(head.body()).isEmpty();

        // Objects under sendfile_min_size (32k) stay in memory only, whatever the transport.
        assertThat(get("/small").body()).hasSize(1000);
        assertThat(get("/small").headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        await().until(() -> portico.server().cache().stats().diskObjects() == 2);
        assertThat(portico.server().cache().stats().openFiles()).isEqualTo(1);

        // epoll and NIO send with sendfile(2); io_uring (what auto picks where it works) copies from
        // memory, which measured cheaper than Netty's splice through a pipe per response.
        long expected = portico.server().transport().kind() == TransportKind.IO_URING ? 0 : SIZE + 100_001 + 700;
        assertThat(fromFiles()).isEqualTo(expected);
        assertThat(portico.server().cache().stats().bytesServed()).isEqualTo(SIZE + 100_001 + 700 + 1000);
        assertThat(origin.hits("/big")).isEqualTo(1);
    }

    @Test
    void withSendfileOffLargeHitsAreCopiedFromMemory() throws Exception {
        start("nio", "", "  sendfile: false");
        assertText(get("/big").body(), BODY);
        await().until(() -> portico.server().cache().stats().diskObjects() == 1);
        assertText(get("/big").body(), BODY);
        assertThat(portico.server().cache().stats().openFiles()).isZero();
        assertThat(fromFiles()).isZero();
    }

    @Test
    void aPurgedObjectClosesItsFileOnceTheLastResponseFromItIsSent() throws Exception {
        start("nio", "", "");
        fill();
        assertText(get("/big").body(), BODY);
        assertThat(portico.server().cache().purgeUrl("http://127.0.0.1/big")).isPositive();
        await().until(() -> portico.server().cache().stats().openFiles() == 0);
        // The next request goes to the origin again and gets a file of its own.
        assertText(get("/big").body(), BODY);
        assertThat(origin.hits("/big")).isEqualTo(2);
        await().until(() -> portico.server().cache().stats().openFiles() == 1);
    }

    /**
     * A file region counts its unsent bytes in the output buffer as copied bytes would: a client
     * that pipelines many requests for a large object and reads nothing gets one response queued
     * (then the connection is unwritable), not one per request; when it reads, all arrive whole.
     */
    @Test
    void aPipeliningClientThatDoesNotReadHasOneLargeResponseQueuedNotAll() throws Exception {
        // A small socket send buffer, so that the kernel does not take most of a response itself.
        start("nio", "    send_buffer: 16k\n", "");
        fill();
        long before = fromFiles();
        int pipelined = 20;
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(16 * 1024);
            s.connect(new InetSocketAddress("127.0.0.1", portico.port()));
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /big HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n").repeat(pipelined).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().until(() -> fromFiles() - before >= SIZE);
            // Other connections are answered meanwhile (and the event loops have turned many times).
            for (int i = 0; i < 10; i++) {
                assertThat(get("/small").statusCode()).isEqualTo(200);
            }
            assertThat(fromFiles() - before).as("bytes queued for the stalled client").isLessThanOrEqualTo(2L * SIZE);
            InputStream in = s.getInputStream();
            for (int i = 0; i < pipelined; i++) {
                assertText(readResponseBody(in), BODY);
            }
        }
        assertThat(fromFiles() - before).isEqualTo((long) pipelined * SIZE);
    }

    /**
     * A slow reader takes longer than send_timeout for one response sent from a file: each byte
     * it takes is progress, so it gets the whole body; one that stops reading is closed after the
     * send timeout.
     */
    @Test
    void theSendTimeoutCountsProgressWithinAFileAndClosesAClientThatStops() throws Exception {
        start("nio", """
                    send_buffer: 16k
                    http:
                      send_timeout: 500ms
                """, "");
        fill();
        int open = portico.server().lifecycle().openConnections();
        try (Socket slow = new Socket()) {
            slow.setReceiveBufferSize(8 * 1024);
            slow.connect(new InetSocketAddress("127.0.0.1", portico.port()));
            slow.setSoTimeout(30_000);
            slow.getOutputStream().write(("GET /big HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = slow.getInputStream();
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200");
            long start = System.nanoTime();
            ByteArrayOutputStream body = new ByteArrayOutputStream(SIZE);
            byte[] buf = new byte[4 * 1024];
            // Pacing the reader is the point: 4 KiB every 5 ms, about 800 KB/s, so 1 MiB takes
            // well over the 500 ms send timeout.
            Pace.every(Duration.ofMillis(5), () -> {
                int n = in.read(buf, 0, Math.min(buf.length, SIZE - body.size()));
                if (n < 0) {
                    return false;
                }
                body.write(buf, 0, n);
                return body.size() < SIZE;
            }).get(60, TimeUnit.SECONDS);
            assertText(body.toString(StandardCharsets.US_ASCII), BODY);
            assertThat(System.nanoTime() - start).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(1000));
        }
        await().until(() -> portico.server().lifecycle().openConnections() == open);
        try (Socket stalled = new Socket()) {
            stalled.setReceiveBufferSize(8 * 1024);
            stalled.connect(new InetSocketAddress("127.0.0.1", portico.port()));
            stalled.getOutputStream().write(("GET /big HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            await().until(() -> portico.server().lifecycle().openConnections() == open + 1);
            // It reads nothing: the send timeout closes it.
            await().atMost(Duration.ofSeconds(10)).until(() -> portico.server().lifecycle().openConnections() == open);
        }
    }

    /**
     * Bytes waiting in file regions are in the page cache, not Portico's memory: clients stalled on
     * large hits sent from files do not trip the buffer-memory budget (the same number stalled on
     * copied responses does, see MemoryBudgetTest).
     */
    @Test
    void stalledClientsOfFileResponsesDoNotCountAgainstTheMemoryBudget() throws Exception {
        start("nio", "    send_buffer: 16k\n", """
                limits:
                  buffer_memory: 256k
                  connection_buffer: 64k
                """);
        fill();
        long before = fromFiles();
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                Socket s = new Socket();
                s.setReceiveBufferSize(8 * 1024);
                s.connect(new InetSocketAddress("127.0.0.1", portico.port()));
                s.getOutputStream().write(("GET /big HTTP/1.1\r\nHost: 127.0.0.1:" + portico.port() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                stalled.add(s);
            }
            await().until(() -> fromFiles() - before == 8L * SIZE);
            var budget = portico.server().bufferBudget();
            // Samples of the budget go by while the eight wait with most of a MiB each unsent.
            long samples = budget.samples();
            await().until(() -> budget.samples() >= samples + 5);
            assertThat(budget.pressureEvents()).isZero();
            assertThat(budget.buffered()).isLessThan(64L << 10);
            assertThat(get("/small").statusCode()).isEqualTo(200);
        } finally {
            for (Socket s : stalled) {
                s.setSoLinger(true, 0);
                s.close();
            }
        }
    }

    /** Equal text, reported by length and first difference rather than a megabyte of text. */
    private static void assertText(String actual, String expected) {
        assertThat(actual.length()).as("length").isEqualTo(expected.length());
        int at = java.util.Arrays.mismatch(actual.toCharArray(), expected.toCharArray());
        assertThat(at).as("first differing character").isEqualTo(-1);
    }

    private static String readHead(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("closed in the head: " + head);
            }
            head.append((char) c);
        }
        return head.toString();
    }

    private static String readResponseBody(InputStream in) throws Exception {
        String head = readHead(in);
        assertThat(head).startsWith("HTTP/1.1 200");
        int length = -1;
        for (String line : head.split("\r\n")) {
            if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        assertThat(length).isEqualTo(SIZE);
        return new String(in.readNBytes(length), StandardCharsets.US_ASCII);
    }
}
