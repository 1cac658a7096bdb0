package io.portico.server.log;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * One JSON object a line, for log shippers:
 * <pre>
 * {"time":"2026-11-22T11:30:00.123+00:00","remote_addr":"127.0.0.1","method":"GET","uri":"/","protocol":"HTTP/1.1",
 *  "status":200,"body_bytes_sent":12,"referer":null,"user_agent":"curl/8","host":"a","upstream_addr":"10.0.0.1:80",
 *  "upstream_time":0.002,"request_time":0.003,"request_id":"…","listener":"http","route":"/","cache":"HIT","error":null}
 * </pre>
 * Times are seconds with millisecond precision; a field with no value is null. Header text arrives
 * one char per byte, so a byte outside printable ASCII is written as {@code \\u00XX}.
 */
final class JsonFormat implements LineFormat {

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final DateTimeFormatter iso;
    private final DateTimeFormatter offset;
    private long cachedSecond = Long.MIN_VALUE;
    private byte[] cachedDate;
    private byte[] cachedOffset;

    JsonFormat(ZoneId zone) {
        iso = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(zone);
        offset = DateTimeFormatter.ofPattern("xxx").withZone(zone);
    }

    @Override
    public void format(AccessLogRecord r, LineBuffer out) {
        out.appendAscii("{\"time\":\"");
        time(out, r.startEpochMillis);
        out.appendAscii("\",\"remote_addr\":");
        string(out, r.remoteAddr);
        out.appendAscii(",\"method\":");
        string(out, r.method);
        out.appendAscii(",\"uri\":");
        string(out, r.uri);
        out.appendAscii(",\"protocol\":");
        string(out, r.protocol);
        out.appendAscii(",\"status\":");
        out.append(r.status);
        out.appendAscii(",\"body_bytes_sent\":");
        out.append(Math.max(0, r.bodyBytesSent));
        out.appendAscii(",\"referer\":");
        string(out, r.referer);
        out.appendAscii(",\"user_agent\":");
        string(out, r.userAgent);
        out.appendAscii(",\"host\":");
        string(out, r.host);
        out.appendAscii(",\"upstream_addr\":");
        string(out, r.upstreamAddr);
        out.appendAscii(",\"upstream_time\":");
        if (r.upstreamNanos < 0) {
            out.appendAscii("null");
        } else {
            AccessLogFormatter.seconds(out, r.upstreamNanos);
        }
        out.appendAscii(",\"request_time\":");
        AccessLogFormatter.seconds(out, Math.max(0, r.requestNanos));
        out.appendAscii(",\"request_id\":");
        string(out, r.requestId);
        out.appendAscii(",\"listener\":");
        string(out, r.listener);
        out.appendAscii(",\"route\":");
        string(out, r.route);
        out.appendAscii(",\"cache\":");
        string(out, r.cacheStatus);
        out.appendAscii(",\"error\":");
        string(out, r.error);
        out.appendAscii("}\n");
    }

    /** ISO 8601 with milliseconds and the zone's offset, e.g. {@code 2026-11-22T11:30:00.123+01:00}. */
    void time(LineBuffer out, long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        if (second != cachedSecond) {
            Instant i = Instant.ofEpochSecond(second);
            cachedDate = iso.format(i).getBytes(StandardCharsets.US_ASCII);
            cachedOffset = offset.format(i).getBytes(StandardCharsets.US_ASCII);
            cachedSecond = second;
        }
        out.append(cachedDate);
        int millis = (int) Math.floorMod(epochMillis, 1000);
        out.append((byte) '.');
        out.append((byte) ('0' + millis / 100));
        out.append((byte) ('0' + millis / 10 % 10));
        out.append((byte) ('0' + millis % 10));
        out.append(cachedOffset);
    }

    static void string(LineBuffer out, String value) {
        if (value == null) {
            out.appendAscii("null");
            return;
        }
        out.append((byte) '"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append((byte) '\\');
                out.append((byte) c);
            } else if (c >= 0x20 && c < 0x7F) {
                out.append((byte) c);
            } else {
                out.appendAscii("\\u");
                out.append(HEX[c >> 12 & 0xF]);
                out.append(HEX[c >> 8 & 0xF]);
                out.append(HEX[c >> 4 & 0xF]);
                out.append(HEX[c & 0xF]);
            }
        }
        out.append((byte) '"');
    }
}
