package io.portico.server.http1;

import io.netty.handler.codec.Headers;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;

/**
 * A user event from an HTTP/2 or HTTP/3 stream bridge: it is resetting its request stream for a
 * malformed request (RFC 9113 section 8.1.1, RFC 9114 section 4.1.2) and nothing will be answered,
 * but the refusal leaves one access-log line, as nginx logs a 400 for it. The bridge fires it at the
 * stream's exchange handler just before the reset: an exchange in progress ends with that 400 and
 * {@link #reason()}; a request that never became one is logged from the fields read, when there
 * are any. A stream HTTP/2's codec refused before it opened has no handler: the front end's
 * callback logs it. Only malformed streams make one, so the normal path pays nothing.
 */
public final class MalformedStream {

    private static final AsciiString METHOD = AsciiString.cached(":method");
    private static final AsciiString PATH = AsciiString.cached(":path");
    private static final AsciiString AUTHORITY = AsciiString.cached(":authority");

    private final String reason;
    private final Headers<CharSequence, CharSequence, ?> fields;

    private MalformedStream(String reason, Headers<CharSequence, CharSequence, ?> fields) {
        this.reason = reason;
        this.fields = fields;
    }

    /**
     * @param reason the access log's error, such as {@code malformed_request} or
     *               {@code malformed_request:scheme}
     * @param fields the request's fields (HTTP/2's or HTTP/3's) when no exchange has them, else null
     */
    public static MalformedStream of(String reason, Headers<CharSequence, CharSequence, ?> fields) {
        return new MalformedStream(reason, fields);
    }

    /** The access log's error for the stream. */
    public String reason() {
        return reason;
    }

    /** Whether any of the request's fields were read: its request line can be logged. */
    boolean hasFields() {
        return fields != null;
    }

    /** {@code :method}, or null. */
    String method() {
        return field(METHOD);
    }

    /** {@code :path}, or null. */
    String path() {
        return field(PATH);
    }

    /** {@code :authority}, else the Host field, or null. */
    String authority() {
        String authority = field(AUTHORITY);
        return authority != null ? authority : field(HttpHeaderNames.HOST);
    }

    /** The first value of the field {@code name} (any case), or null. */
    String field(CharSequence name) {
        if (fields == null) {
            return null;
        }
        CharSequence v = fields.get(AsciiString.of(name).toLowerCase());
        return v == null ? null : v.toString();
    }
}
