package io.portico.server.log;

import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/**
 * A line from a template such as {@code $remote_addr [$time_local] "$request" $status $request_time},
 * as nginx's {@code log_format}: {@code $name} or {@code ${name}} is a field (see
 * {@link AccessLogFormats#FIELDS}), anything else is copied. Values are escaped as in the combined
 * format; a field with no value prints {@code -}. Parsed once; formatting walks the parts.
 */
final class TemplateFormat implements LineFormat {

    private final Object[] parts;
    private final AccessLogFormatter combined;
    private final JsonFormat json;

    TemplateFormat(String template, ZoneId zone) {
        this.parts = parse(template).toArray();
        this.combined = new AccessLogFormatter(zone);
        this.json = new JsonFormat(zone);
    }

    /**
     * The template's parts: {@code byte[]} literals and {@code Integer} field indexes.
     *
     * @throws IllegalArgumentException naming an unknown field, or for a template with no field
     */
    static List<Object> parse(String template) {
        List<Object> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        boolean anyField = false;
        int i = 0;
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c != '$') {
                literal.append(c);
                i++;
                continue;
            }
            int start;
            int end;
            int next;
            if (i + 1 < template.length() && template.charAt(i + 1) == '{') {
                start = i + 2;
                end = template.indexOf('}', start);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed ${ in the template at character " + (i + 1));
                }
                next = end + 1;
            } else {
                start = i + 1;
                end = start;
                while (end < template.length() && (Character.isLetterOrDigit(template.charAt(end))
                        || template.charAt(end) == '_')) {
                    end++;
                }
                next = end;
            }
            String name = template.substring(start, end);
            int field = AccessLogFormats.FIELDS.indexOf(name);
            if (field < 0) {
                throw new IllegalArgumentException("unknown field $" + name + " (use combined, json, or a template of "
                        + "$" + String.join(" $", AccessLogFormats.FIELDS) + ")");
            }
            if (literal.length() > 0) {
                parts.add(literal.toString().getBytes(StandardCharsets.UTF_8));
                literal.setLength(0);
            }
            parts.add(field);
            anyField = true;
            i = next;
        }
        if (!anyField) {
            throw new IllegalArgumentException("'" + template + "' is neither combined, json nor a template with a $field");
        }
        if (literal.length() > 0) {
            parts.add(literal.toString().getBytes(StandardCharsets.UTF_8));
        }
        return parts;
    }

    @Override
    public void format(AccessLogRecord r, LineBuffer out) {
        for (Object part : parts) {
            if (part instanceof byte[] bytes) {
                out.append(bytes);
            } else {
                field(r, (Integer) part, out);
            }
        }
        out.append((byte) '\n');
    }

    private void field(AccessLogRecord r, int field, LineBuffer out) {
        switch (AccessLogFormats.FIELDS.get(field)) {
            case "remote_addr" -> AccessLogFormatter.field(out, r.remoteAddr);
            case "time_local" -> out.append(combined.timeLocal(r.startEpochMillis));
            case "time_iso8601" -> json.time(out, r.startEpochMillis);
            case "msec" -> {
                out.append(r.startEpochMillis / 1000);
                out.append((byte) '.');
                int ms = (int) (r.startEpochMillis % 1000);
                out.append((byte) ('0' + ms / 100));
                out.append((byte) ('0' + ms / 10 % 10));
                out.append((byte) ('0' + ms % 10));
            }
            case "request" -> AccessLogFormatter.request(out, r);
            case "request_method" -> AccessLogFormatter.field(out, r.method);
            case "request_uri" -> AccessLogFormatter.field(out, r.uri);
            case "server_protocol" -> AccessLogFormatter.field(out, r.protocol);
            case "status" -> AccessLogFormatter.status(out, r.status);
            case "body_bytes_sent" -> out.append(Math.max(0, r.bodyBytesSent));
            case "http_referer" -> AccessLogFormatter.field(out, r.referer);
            case "http_user_agent" -> AccessLogFormatter.field(out, r.userAgent);
            case "host" -> AccessLogFormatter.field(out, r.host);
            case "upstream_addr" -> AccessLogFormatter.field(out, r.upstreamAddr);
            case "upstream_response_time" -> {
                if (r.upstreamNanos < 0) {
                    out.append((byte) '-');
                } else {
                    AccessLogFormatter.seconds(out, r.upstreamNanos);
                }
            }
            case "request_time" -> AccessLogFormatter.seconds(out, Math.max(0, r.requestNanos));
            case "request_id" -> AccessLogFormatter.field(out, r.requestId);
            case "listener" -> AccessLogFormatter.field(out, r.listener);
            case "route" -> AccessLogFormatter.field(out, r.route);
            case "upstream_cache_status" -> AccessLogFormatter.field(out, r.cacheStatus);
            case "error" -> AccessLogFormatter.field(out, r.error);
            default -> throw new IllegalStateException("field " + field);
        }
    }
}
