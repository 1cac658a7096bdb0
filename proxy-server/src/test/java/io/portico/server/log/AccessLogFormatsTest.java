package io.portico.server.log;

import io.portico.server.config.AccessLogConfig;
import io.portico.server.config.AccessLogRotationConfig;
import io.portico.server.config.ByteSize;
import io.portico.server.config.ConfigException;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The access log's json and template formats, and rotation by size and by day. */
class AccessLogFormatsTest {

    private static final long START = Instant.parse("2026-11-22T08:28:46.789Z").toEpochMilli();

    @TempDir
    Path dir;

    private static AccessLogRecord record() {
        AccessLogRecord r = new AccessLogRecord();
        r.remoteAddr = "203.0.113.7";
        r.startEpochMillis = START;
        r.method = "GET";
        r.uri = "/a?b=\"x\"";
        r.protocol = "HTTP/1.1";
        r.status = 200;
        r.bodyBytesSent = 512;
        r.userAgent = "curl/8.5.0 \u00e9";
        r.host = "example.com";
        r.upstreamAddr = "10.0.0.2:8080";
        r.upstreamNanos = 4_900_000L;
        r.requestNanos = 12_345_678L;
        r.requestId = "4bf92f3577b34da6a3ce929d0e0e4736";
        r.listener = "public";
        r.route = "api";
        r.cacheStatus = "HIT";
        return r;
    }

    private static String line(String format, AccessLogRecord r) {
        LineBuffer b = new LineBuffer(1024);
        AccessLogFormats.create(format, ZoneOffset.UTC).format(r, b);
        return new String(b.array(), 0, b.length(), StandardCharsets.UTF_8);
    }

    @Test
    void jsonWritesOneObjectPerLineWithNumbersAndNulls() {
        assertThat(line("json", record())).isEqualTo("{\"time\":\"2026-11-22T08:28:46.789+00:00\","
                + "\"remote_addr\":\"203.0.113.7\",\"method\":\"GET\",\"uri\":\"/a?b=\\\"x\\\"\",\"protocol\":\"HTTP/1.1\","
                + "\"status\":200,\"body_bytes_sent\":512,\"referer\":null,\"user_agent\":\"curl/8.5.0 \\u00e9\","
                + "\"host\":\"example.com\",\"upstream_addr\":\"10.0.0.2:8080\",\"upstream_time\":0.004,"
                + "\"request_time\":0.012,\"request_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"listener\":\"public\","
                + "\"route\":\"api\",\"cache\":\"HIT\",\"error\":null}\n");
        AccessLogRecord none = record();
        none.upstreamNanos = -1;
        none.error = "upstream_connect_failed";
        assertThat(line("json", none)).contains("\"upstream_time\":null", "\"error\":\"upstream_connect_failed\"");
    }

    @Test
    void aTemplatePrintsTheNamedFieldsBetweenItsText() {
        assertThat(line("$remote_addr [$time_iso8601] \"$request\" $status ${request_time}s rid=$request_id up=$upstream_addr"
                + " ua=\"$http_user_agent\" ref=$http_referer", record()))
                .isEqualTo("203.0.113.7 [2026-11-22T08:28:46.789+00:00] \"GET /a?b=\\x22x\\x22 HTTP/1.1\" 200 0.012s"
                        + " rid=4bf92f3577b34da6a3ce929d0e0e4736 up=10.0.0.2:8080 ua=\"curl/8.5.0 \\xE9\" ref=-\n");
    }

    @Test
    void aTemplatePrintsTheCacheStatusAsNginxsUpstreamCacheStatus() {
        assertThat(line("$request_uri $upstream_cache_status", record())).isEqualTo("/a?b=\\x22x\\x22 HIT\n");
        AccessLogRecord uncached = record();
        uncached.cacheStatus = null;
        assertThat(line("$request_uri $upstream_cache_status", uncached)).endsWith(" -\n");
        assertThat(line("json", uncached)).contains("\"cache\":null");
    }

    @Test
    void aTemplateWithAnUnknownFieldIsAConfigErrorNamingTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("bad.yaml", """
                listeners: [{address: "127.0.0.1:0"}]
                servers: [{routes: [{match: {prefix: /}, respond: {status: 200}}]}]
                access_log:
                  format: "$remote_addr $bogus"
                """))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("bad.yaml:4: access_log.format: unknown field $bogus");
        assertThat(AccessLogFormats.check("plain text")).contains("neither combined, json nor a template");
        assertThat(AccessLogFormats.check("json")).isNull();
    }

    @Test
    void rotatesBySizeKeepingTheConfiguredNumberOfFiles() throws Exception {
        Path file = dir.resolve("access.log");
        AccessLogConfig config = new AccessLogConfig(true, file.toString(), 1024, "json",
                new AccessLogRotationConfig(ByteSize.parse("1k"), false, 2));
        int lines = 0;
        try (AccessLog log = AccessLog.open(config)) {
            // Each line is ~400 bytes: 1k holds two; flush after each so batches stay one line.
            for (int i = 0; i < 9; i++) {
                log.log(record());
                log.flush();
                lines++;
            }
        }
        assertThat(file).exists();
        assertThat(dir.resolve("access.log.1")).exists();
        assertThat(dir.resolve("access.log.2")).exists();
        assertThat(dir.resolve("access.log.3")).doesNotExist();
        for (Path p : new Path[] {file, dir.resolve("access.log.1"), dir.resolve("access.log.2")}) {
            assertThat(Files.size(p)).isLessThanOrEqualTo(1024);
            assertThat(Files.readAllLines(p)).allSatisfy(l -> assertThat(l).startsWith("{\"time\":").endsWith("}"));
        }
        // Nine lines, two per file, three files kept: the newest five or six lines are on disk.
        long kept = Files.readAllLines(file).size() + Files.readAllLines(dir.resolve("access.log.1")).size()
                + Files.readAllLines(dir.resolve("access.log.2")).size();
        assertThat(kept).isBetween(5L, 6L).isLessThan(lines);
    }

    @Test
    void rotatesDailyAtTheFirstLineOfANewDay() throws Exception {
        Path file = dir.resolve("access.log");
        Files.writeString(file, "yesterday's line\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(1, java.time.temporal.ChronoUnit.DAYS)
                .minusSeconds(3600)));
        AccessLogConfig config = new AccessLogConfig(true, file.toString(), 1024, "combined",
                new AccessLogRotationConfig(ByteSize.parse("0"), true, 7));
        try (AccessLog log = AccessLog.open(config)) {
            log.log(record());
            log.flush();
        }
        assertThat(Files.readAllLines(dir.resolve("access.log.1"))).containsExactly("yesterday's line");
        assertThat(Files.readAllLines(file)).singleElement().satisfies(l -> assertThat(l).startsWith("203.0.113.7 - - ["));
    }

    @Test
    void reopenStartsANewFileAfterAnExternalRotation() throws Exception {
        Path file = dir.resolve("access.log");
        try (AccessLog log = AccessLog.open(new AccessLogConfig(true, file.toString(), 64))) {
            log.log(record());
            log.flush();
            Files.move(file, dir.resolve("access.log.old"));
            log.reopen();
            // Done by the time a flush asked for after it returns.
            log.flush();
            log.log(record());
            log.flush();
        }
        assertThat(Files.readAllLines(dir.resolve("access.log.old"))).hasSize(1);
        assertThat(Files.readAllLines(file)).hasSize(1);
    }

    @Test
    void theRotatingFileKeepsAppendingWhenNothingIsDue() throws Exception {
        Path file = dir.resolve("plain.log");
        try (RotatingFile f = new RotatingFile(file, 0, false, 3, ZoneId.systemDefault())) {
            f.write("a\n".getBytes(StandardCharsets.US_ASCII));
        }
        try (RotatingFile f = new RotatingFile(file, 0, false, 3, ZoneId.systemDefault())) {
            f.write("b\n".getBytes(StandardCharsets.US_ASCII));
        }
        assertThat(Files.readAllLines(file)).containsExactly("a", "b");
    }
}
