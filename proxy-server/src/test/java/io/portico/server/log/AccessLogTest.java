package io.portico.server.log;

import io.portico.server.config.AccessLogConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class AccessLogTest {

    private static final long START = Instant.parse("2026-11-22T08:28:46.789Z").toEpochMilli();

    @TempDir
    Path dir;

    @Test
    void writesCombinedFormatWithPorticoFields() {
        AccessLogRecord r = fullRecord();

        assertThat(lineFor(r, ZoneOffset.UTC)).isEqualTo(
                "203.0.113.7 - - [22/Nov/2026:08:28:46 +0000] \"GET /a?b HTTP/1.1\" 200 512"
                        + " \"https://example.com/\" \"curl/8.5.0\" host=\"example.com\" upstream=10.0.0.2:8080"
                        + " upstream_time=0.004 request_time=0.012 request_id=4bf92f3577b34da6a3ce929d0e0e4736"
                        + " listener=public route=\"api\" cache=-\n");
    }

    @Test
    void printsTimeInTheConfiguredZone() {
        assertThat(lineFor(fullRecord(), ZoneId.of("Asia/Kolkata")))
                .contains("[22/Nov/2026:13:58:46 +0530]");
        assertThat(lineFor(fullRecord(), ZoneId.of("America/New_York")))
                .contains("[22/Nov/2026:03:28:46 -0500]");
    }

    @Test
    void printsDashesForMissingValuesAndAppendsError() {
        AccessLogRecord r = new AccessLogRecord();
        r.remoteAddr = "::1";
        r.startEpochMillis = START;
        r.status = 502;
        r.requestNanos = 1_500_000_000L;
        r.error = "upstream_connect_refused";

        assertThat(lineFor(r, ZoneOffset.UTC)).isEqualTo(
                "::1 - - [22/Nov/2026:08:28:46 +0000] \"-\" 502 0 \"-\" \"-\" host=\"-\" upstream=-"
                        + " upstream_time=- request_time=1.500 request_id=- listener=- route=\"-\" cache=-"
                        + " error=upstream_connect_refused\n");
    }

    @Test
    void printsStatusWithThreeDigits() {
        AccessLogRecord r = fullRecord();
        r.status = 0;

        assertThat(lineFor(r, ZoneOffset.UTC)).contains("\" 000 512 ");
    }

    @Test
    void escapesQuotesBackslashesAndNonPrintableBytesAsNginxDoes() {
        AccessLogRecord r = fullRecord();
        r.userAgent = "evil\" \\agent\n\u00e9\u20ac";
        r.uri = "/p\"\u0001";
        r.host = "x\u007f";

        String line = lineFor(r, ZoneOffset.UTC);

        assertThat(line).contains("\"evil\\x22 \\x5Cagent\\x0A\\xE9\\xE2\\x82\\xAC\"");
        assertThat(line).contains("\"GET /p\\x22\\x01 HTTP/1.1\"");
        assertThat(line).contains("host=\"x\\x7F\"");
        assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
    }

    @Test
    void dropsWithoutBlockingWhenTheWriterFallsBehind() {
        HeldBackStream out = new HeldBackStream();
        AccessLog log = new AccessLog(out, 16, ZoneOffset.UTC, true);
        log.log(fullRecord());
        await().until(() -> out.entered.getCount() == 0);

        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            for (int i = 0; i < 1000; i++) {
                log.log(fullRecord());
            }
        });
        long droppedWhileHeld = log.dropped();
        out.release.countDown();
        log.close();

        assertThat(droppedWhileHeld).isGreaterThanOrEqualTo(1000 - 16);
        assertThat(log.written() + log.dropped()).isEqualTo(1001);
        assertThat(out.text().lines()).hasSize((int) log.written());
    }

    @Test
    void closeWritesEverythingQueued() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = new AccessLog(out, 1024, ZoneOffset.UTC, true);
        for (int i = 0; i < 1000; i++) {
            AccessLogRecord r = fullRecord();
            r.requestId = "id-" + i;
            log.log(r);
        }

        log.close();

        String[] lines = out.toString(StandardCharsets.US_ASCII).split("\n");
        assertThat(lines).hasSize(1000);
        assertThat(lines[999]).contains("request_id=id-999");
        assertThat(log.written()).isEqualTo(1000);
        assertThat(log.dropped()).isZero();
    }

    @Test
    void countsRecordsLoggedAfterCloseAsDropped() {
        AccessLog log = new AccessLog(new ByteArrayOutputStream(), 16, ZoneOffset.UTC, true);
        log.close();

        log.log(fullRecord());

        assertThat(log.dropped()).isEqualTo(1);
        assertThat(log.written()).isZero();
    }

    @Test
    void flushWaitsUntilLinesAreOut() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (AccessLog log = new AccessLog(out, 64, ZoneOffset.UTC, true)) {
            log.log(fullRecord());
            log.log(fullRecord());

            log.flush();

            assertThat(out.toString(StandardCharsets.US_ASCII).lines()).hasSize(2);
        }
    }

    @Test
    void writesToFileCreatingParentDirectories() throws IOException {
        Path file = dir.resolve("logs/nested/access.log");
        try (AccessLog log = AccessLog.open(new AccessLogConfig(true, file.toString(), 16))) {
            for (int i = 0; i < 3; i++) {
                log.log(fullRecord());
            }

            await().untilAsserted(() -> assertThat(Files.readAllLines(file)).hasSize(3)
                    .allSatisfy(line -> assertThat(line).startsWith("203.0.113.7 - - [22/Nov/2026:")));
        }
    }

    @Test
    void appendsToAnExistingFile() throws IOException {
        Path file = dir.resolve("access.log");
        Files.writeString(file, "earlier line\n");
        try (AccessLog log = AccessLog.open(new AccessLogConfig(true, file.toString(), 16))) {
            log.log(fullRecord());
        }

        assertThat(Files.readAllLines(file)).hasSize(2).first().isEqualTo("earlier line");
    }

    @Test
    void writesToStandardOutputWithoutClosingIt() throws IOException {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(captured, true, StandardCharsets.US_ASCII);
        System.setOut(capture);
        try {
            AccessLog log = AccessLog.open(new AccessLogConfig(true, AccessLog.STDOUT, 16));
            log.log(fullRecord());
            log.close();
            capture.print("still open");
            capture.flush();
        } finally {
            System.setOut(original);
        }

        assertThat(capture.checkError()).isFalse();
        assertThat(captured.toString(StandardCharsets.US_ASCII))
                .startsWith("203.0.113.7 - - [")
                .endsWith("route=\"api\" cache=-\nstill open");
    }

    @Test
    void disabledLogWritesNothing() throws IOException {
        Path file = dir.resolve("off/access.log");
        AccessLog log = AccessLog.open(new AccessLogConfig(false, file.toString(), 16));

        log.log(fullRecord());
        log.flush();
        log.close();

        assertThat(file.getParent()).doesNotExist();
        assertThat(log.written()).isZero();
        assertThat(log.dropped()).isZero();
    }

    private static String lineFor(AccessLogRecord r, ZoneId zone) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = new AccessLog(out, 16, zone, true);
        log.log(r);
        log.close();
        return out.toString(StandardCharsets.US_ASCII);
    }

    private static AccessLogRecord fullRecord() {
        AccessLogRecord r = new AccessLogRecord();
        r.remoteAddr = "203.0.113.7";
        r.startEpochMillis = START;
        r.method = "GET";
        r.uri = "/a?b";
        r.protocol = "HTTP/1.1";
        r.status = 200;
        r.bodyBytesSent = 512;
        r.referer = "https://example.com/";
        r.userAgent = "curl/8.5.0";
        r.host = "example.com";
        r.upstreamAddr = "10.0.0.2:8080";
        r.upstreamNanos = 4_900_000L;
        r.requestNanos = 12_345_678L;
        r.requestId = "4bf92f3577b34da6a3ce929d0e0e4736";
        r.listener = "public";
        r.route = "api";
        return r;
    }

    /** Blocks the writer thread inside write() until the test releases it. */
    private static final class HeldBackStream extends OutputStream {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while held back", e);
            }
            synchronized (bytes) {
                bytes.write(b, off, len);
            }
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.US_ASCII);
            }
        }
    }
}
