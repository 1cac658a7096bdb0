package io.portico.server.log;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Formats records as nginx "combined" lines followed by Portico's own fields:
 * <pre>
 * $remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
 *   host="$host" upstream=$upstream_addr upstream_time=$upstream_time request_time=$request_time
 *   request_id=$request_id listener=$listener route="$route" cache=$upstream_cache_status [error=$error]
 * </pre>
 * (one line). A stream listener's connection (L4) has its own line, after nginx's {@code stream} log:
 * <pre>
 * $remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time
 *   upstream=$upstream_addr upstream_connect_time=$t sni="$server_name" listener=$listener splice=on|off end=$how
 * </pre>
 * Used by the writer thread only, so it keeps its time cache unsynchronised.
 */
final class AccessLogFormatter implements LineFormat {

    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

    private final DateTimeFormatter timeLocal;
    private long cachedSecond = Long.MIN_VALUE;
    private byte[] cachedTime;

    AccessLogFormatter(ZoneId zone) {
        timeLocal = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US).withZone(zone);
    }

    @Override
    public void format(AccessLogRecord r, LineBuffer out) {
        if (r.layer4) {
            formatStream(r, out);
            return;
        }
        field(out, r.remoteAddr);
        out.appendAscii(" - - [");
        out.append(timeLocal(r.startEpochMillis));
        out.appendAscii("] \"");
        request(out, r);
        out.appendAscii("\" ");
        status(out, r.status);
        out.append((byte) ' ');
        out.append(Math.max(0, r.bodyBytesSent));
        out.appendAscii(" \"");
        field(out, r.referer);
        out.appendAscii("\" \"");
        field(out, r.userAgent);
        out.appendAscii("\" host=\"");
        field(out, r.host);
        out.appendAscii("\" upstream=");
        field(out, r.upstreamAddr);
        out.appendAscii(" upstream_time=");
        if (r.upstreamNanos < 0) {
            out.append((byte) '-');
        } else {
            seconds(out, r.upstreamNanos);
        }
        out.appendAscii(" request_time=");
        seconds(out, Math.max(0, r.requestNanos));
        out.appendAscii(" request_id=");
        field(out, r.requestId);
        out.appendAscii(" listener=");
        field(out, r.listener);
        out.appendAscii(" route=\"");
        field(out, r.route);
        out.appendAscii("\" cache=");
        field(out, r.cacheStatus);
        if (r.error != null) {
            out.appendAscii(" error=");
            escaped(out, r.error);
        }
        out.append((byte) '\n');
    }

    private void formatStream(AccessLogRecord r, LineBuffer out) {
        field(out, r.remoteAddr);
        out.appendAscii(" [");
        out.append(timeLocal(r.startEpochMillis));
        out.appendAscii("] ");
        field(out, r.protocol);
        out.append((byte) ' ');
        status(out, r.status);
        out.append((byte) ' ');
        out.append(Math.max(0, r.bodyBytesSent));
        out.append((byte) ' ');
        out.append(Math.max(0, r.bytesReceived));
        out.append((byte) ' ');
        seconds(out, Math.max(0, r.requestNanos));
        out.appendAscii(" upstream=");
        field(out, r.upstreamAddr);
        out.appendAscii(" upstream_connect_time=");
        if (r.upstreamNanos < 0) {
            out.append((byte) '-');
        } else {
            seconds(out, r.upstreamNanos);
        }
        out.appendAscii(" sni=\"");
        field(out, r.host);
        out.appendAscii("\" listener=");
        field(out, r.listener);
        out.appendAscii(r.spliced ? " splice=on end=" : " splice=off end=");
        field(out, r.error);
        out.append((byte) '\n');
    }

    byte[] timeLocal(long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        if (second != cachedSecond) {
            cachedTime = timeLocal.format(Instant.ofEpochSecond(second)).getBytes(StandardCharsets.US_ASCII);
            cachedSecond = second;
        }
        return cachedTime;
    }

    /** {@code $request}: the request line, or {@code -} when none was read. */
    static void request(LineBuffer out, AccessLogRecord r) {
        if (r.method == null && r.uri == null && r.protocol == null) {
            out.append((byte) '-');
            return;
        }
        boolean any = requestPart(out, r.method, false);
        any = requestPart(out, r.uri, any);
        requestPart(out, r.protocol, any);
    }

    private static boolean requestPart(LineBuffer out, String part, boolean separate) {
        if (part == null) {
            return separate;
        }
        if (separate) {
            out.append((byte) ' ');
        }
        escaped(out, part);
        return true;
    }

    /** nginx prints {@code $status} with three digits. */
    static void status(LineBuffer out, int status) {
        if (status >= 0 && status < 100) {
            out.append((byte) '0');
            if (status < 10) {
                out.append((byte) '0');
            }
        }
        out.append(status);
    }

    /** Seconds with millisecond precision, as nginx prints {@code $request_time}. */
    static void seconds(LineBuffer out, long nanos) {
        long millis = nanos / 1_000_000;
        out.append(millis / 1000);
        out.append((byte) '.');
        int fraction = (int) (millis % 1000);
        out.append((byte) ('0' + fraction / 100));
        out.append((byte) ('0' + fraction / 10 % 10));
        out.append((byte) ('0' + fraction % 10));
    }

    static void field(LineBuffer out, String value) {
        if (value == null) {
            out.append((byte) '-');
        } else {
            escaped(out, value);
        }
    }

    /**
     * Copies text, escaping as nginx does: {@code "}, {@code \}, control characters and every
     * byte outside printable ASCII become {@code \xHH}. Header text arrives from Netty as one
     * char per byte, so chars up to 0xFF are escaped as the byte they were; anything wider is
     * escaped as its UTF-8 bytes.
     */
    static void escaped(LineBuffer out, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
                out.append((byte) c);
            } else if (c <= 0xFF) {
                hex(out, c);
            } else {
                int codePoint = value.codePointAt(i);
                if (Character.isSupplementaryCodePoint(codePoint)) {
                    i++;
                }
                utf8(out, codePoint);
            }
        }
    }

    private static void utf8(LineBuffer out, int codePoint) {
        if (codePoint < 0x800) {
            hex(out, 0xC0 | codePoint >> 6);
            hex(out, 0x80 | codePoint & 0x3F);
        } else if (codePoint < 0x10000) {
            hex(out, 0xE0 | codePoint >> 12);
            hex(out, 0x80 | codePoint >> 6 & 0x3F);
            hex(out, 0x80 | codePoint & 0x3F);
        } else {
            hex(out, 0xF0 | codePoint >> 18);
            hex(out, 0x80 | codePoint >> 12 & 0x3F);
            hex(out, 0x80 | codePoint >> 6 & 0x3F);
            hex(out, 0x80 | codePoint & 0x3F);
        }
    }

    private static void hex(LineBuffer out, int b) {
        out.append((byte) '\\');
        out.append((byte) 'x');
        out.append(HEX[b >> 4 & 0xF]);
        out.append(HEX[b & 0xF]);
    }
}
