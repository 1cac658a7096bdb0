package io.portico.server.http2;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

/**
 * A request stream reset with PROTOCOL_ERROR for being malformed (RFC 9113 section 8.1.1), so that
 * it leaves one access-log line, as nginx logs a 400 for it. {@link Http2StreamBridge} fires it at
 * the stream's exchange handler just before the reset: an exchange in progress ends with that 400,
 * a request that never became one is logged from these fields. A stream the codec refused before it
 * opened (a field its HPACK decoder refuses) has no handler: {@link Http2Frontend}'s callback logs
 * it. Only malformed streams make one, so the normal path pays nothing.
 */
public final class MalformedStream {

    /** The request's fields are not at hand: never decoded, or passed on to the exchange already. */
    public static final MalformedStream NO_FIELDS = new MalformedStream(null);

    private final Http2Headers fields;

    MalformedStream(Http2Headers fields) {
        this.fields = fields;
    }

    /** {@code :method}, or null. */
    public String method() {
        return fields == null ? null : text(fields.method());
    }

    /** {@code :path}, or null. */
    public String path() {
        return fields == null ? null : text(fields.path());
    }

    /** {@code :authority}, else the Host field, or null. */
    public String authority() {
        if (fields == null) {
            return null;
        }
        CharSequence authority = fields.authority();
        return text(authority != null ? authority : fields.get(HttpHeaderNames.HOST));
    }

    /** The first value of the regular field {@code name} (any case), or null. */
    public String field(CharSequence name) {
        return fields == null ? null : text(fields.get(AsciiString.of(name).toLowerCase()));
    }

    private static String text(CharSequence s) {
        return s == null ? null : s.toString();
    }
}
