package io.portico.server.http2;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** The rules of RFC 9113 section 8.2 and 8.3 for a request's fields on their way to an HTTP/1.1 upstream. */
final class Http2RequestFields {

    /** Validates names and values, so CR, LF or NUL can never reach an HTTP/1 upstream. */
    static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(true);
    static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(true);

    /** {@link #contentLength} of a request whose content-length cannot be trusted. */
    static final long INVALID_LENGTH = -2;

    private static final AsciiString TRAILERS_VALUE = AsciiString.cached("trailers");

    private Http2RequestFields() {
    }

    /**
     * The regular fields of {@code h2} as HTTP/1 headers: cookies joined with "; " (section 8.2.3),
     * {@code TE: trailers} dropped (hop-by-hop on HTTP/1), Host set from {@code :authority}.
     *
     * @return null when the request is malformed: a connection-specific field, {@code TE} other than
     *         trailers, a second Host, or a value HTTP/1 cannot carry
     */
    static HttpHeaders toHttp1(Http2Headers h2) {
        HttpHeaders headers = HEADERS.newHeaders();
        StringBuilder cookies = null;
        boolean host = false;
        try {
            for (Map.Entry<CharSequence, CharSequence> e : h2) {
                CharSequence name = e.getKey();
                if (name.length() > 0 && name.charAt(0) == ':') {
                    continue;
                }
                CharSequence value = e.getValue();
                if (forbidden(name, value)) {
                    return null;
                }
                if (HttpHeaderNames.COOKIE.contentEquals(name)) {
                    cookies = cookies == null ? new StringBuilder(value.length() + 16) : cookies.append("; ");
                    cookies.append(value);
                    continue;
                }
                if (HttpHeaderNames.HOST.contentEquals(name)) {
                    if (host) {
                        return null;
                    }
                    host = true;
                }
                if (HttpHeaderNames.TE.contentEquals(name)) {
                    continue;
                }
                headers.add(name, value);
            }
            if (cookies != null) {
                headers.set(HttpHeaderNames.COOKIE, cookies.toString());
            }
            CharSequence authority = h2.authority();
            if (authority != null) {
                headers.set(HttpHeaderNames.HOST, authority);
            }
        } catch (IllegalArgumentException invalid) {
            return null;
        }
        return headers;
    }

    /** Section 8.2.2: fields a request must not carry in HTTP/2. */
    static boolean forbidden(CharSequence name, CharSequence value) {
        if (HttpHeaderNames.CONNECTION.contentEquals(name) || HttpHeaderNames.KEEP_ALIVE.contentEquals(name)
                || HttpHeaderNames.PROXY_CONNECTION.contentEquals(name)
                || HttpHeaderNames.TRANSFER_ENCODING.contentEquals(name)
                || HttpHeaderNames.UPGRADE.contentEquals(name)) {
            return true;
        }
        return HttpHeaderNames.TE.contentEquals(name) && !TRAILERS_VALUE.contentEqualsIgnoreCase(value);
    }

    /**
     * The declared body length, with repeated equal values folded into one field.
     *
     * @return the length, -1 when none is declared, or {@link #INVALID_LENGTH}
     */
    static long contentLength(HttpHeaders headers) {
        String declared = null;
        for (String v : headers.getAll(HttpHeaderNames.CONTENT_LENGTH)) {
            if (declared != null && !declared.equals(v)) {
                return INVALID_LENGTH;
            }
            declared = v;
        }
        if (declared == null) {
            return -1;
        }
        long length;
        try {
            length = Long.parseLong(declared);
        } catch (NumberFormatException e) {
            return INVALID_LENGTH;
        }
        if (length < 0) {
            return INVALID_LENGTH;
        }
        headers.set(HttpHeaderNames.CONTENT_LENGTH, declared);
        return length;
    }

    /** A Sec-WebSocket-Key of Portico's for the HTTP/1.1 handshake an extended CONNECT becomes (RFC 8441). */
    static String newWebSocketKey() {
        byte[] key = new byte[16];
        ThreadLocalRandom.current().nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }
}
