package io.portico.server.log;

import java.time.ZoneId;
import java.util.List;

/**
 * The access log's formats: {@code combined} (nginx's combined line with Portico's fields after it),
 * {@code json} (one object a line) and templates of {@code $field} names (also {@code ${field}}) and
 * text, as nginx's {@code log_format}. {@link #FIELDS} lists the names.
 */
public final class AccessLogFormats {

    /** The fields a template may use. */
    public static final List<String> FIELDS = List.of("remote_addr", "time_local", "time_iso8601", "msec", "request",
            "request_method", "request_uri", "server_protocol", "status", "body_bytes_sent", "http_referer",
            "http_user_agent", "host", "upstream_addr", "upstream_response_time", "request_time", "request_id",
            "listener", "route", "upstream_cache_status", "error");

    private AccessLogFormats() {
    }

    /** Null when {@code format} is usable, else what is wrong with it. */
    public static String check(String format) {
        if (format.equals("combined") || format.equals("json")) {
            return null;
        }
        try {
            TemplateFormat.parse(format);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    static LineFormat create(String format, ZoneId zone) {
        return switch (format) {
            case "combined" -> new AccessLogFormatter(zone);
            case "json" -> new JsonFormat(zone);
            default -> new TemplateFormat(format, zone);
        };
    }
}
