package io.portico.server.http2;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.Headers;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.portico.http.Http1FramingScanner;

import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The rules of RFC 9113 section 8.2 and 8.3 (HTTP/2) and RFC 9114 section 4.2 and 4.3 (HTTP/3, the
 * same rules) for a request's pseudo-headers and fields on their way to the HTTP/1-shaped exchange
 * and an HTTP/1.1 upstream. Both stream bridges use it, so both protocols refuse the same requests.
 */
public final class RequestFields {

    /** Validates names and values, so CR, LF or NUL can never reach an HTTP/1 upstream. */
    static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(true);
    static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(true);

    /** {@link #contentLength} of a request whose content-length cannot be trusted. */
    public static final long INVALID_LENGTH = -2;

    private static final AsciiString TRAILERS_VALUE = AsciiString.cached("trailers");

    /**
     * Fields a trailer section must not carry (RFC 9110 section 6.5.1): framing, routing, request
     * modifiers (controls, conditionals, authentication, cookies) and how to process the content.
     * Names are lower case in HTTP/2 and HTTP/3 (upper case is refused before this).
     */
    private static final Set<AsciiString> NOT_IN_TRAILERS = Set.of(
            HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.HOST, HttpHeaderNames.TRAILER, HttpHeaderNames.TE,
            HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.EXPECT, HttpHeaderNames.MAX_FORWARDS, HttpHeaderNames.PRAGMA,
            HttpHeaderNames.RANGE, HttpHeaderNames.IF_MATCH, HttpHeaderNames.IF_NONE_MATCH,
            HttpHeaderNames.IF_MODIFIED_SINCE, HttpHeaderNames.IF_UNMODIFIED_SINCE, HttpHeaderNames.IF_RANGE,
            HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.COOKIE,
            HttpHeaderNames.CONTENT_ENCODING, HttpHeaderNames.CONTENT_TYPE, HttpHeaderNames.CONTENT_RANGE);

    private RequestFields() {
    }

    /**
     * The HTTP/1-shaped head of a request that came as pseudo-headers and fields.
     *
     * <p>A Host that disagrees with {@code :authority} does not make the request malformed at the
     * stream level: it comes back with a failed decoder result, to be answered 400 (as nginx).
     *
     * @return null when the request is malformed (a stream error): no {@code :method}, no
     *         {@code :path} outside CONNECT, a field {@link #toHttp1} refuses, or a content-length
     *         that cannot be trusted; the content-length, when there is one, is a single field after
     */
    public static HttpRequest toRequest(CharSequence method, CharSequence path, CharSequence authority,
                                        Headers<CharSequence, CharSequence, ?> fields) {
        if (method == null || (path == null && !HttpMethod.CONNECT.asciiName().contentEquals(method))) {
            return null;
        }
        if (path != null && !originForm(path, method)) {
            return null;
        }
        HttpHeaders headers = toHttp1(fields, authority);
        if (headers == null || contentLength(headers) == INVALID_LENGTH) {
            return null;
        }
        String uri = path == null ? authority == null ? "" : authority.toString() : path.toString();
        HttpRequest request;
        try {
            request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method.toString()), uri, headers);
        } catch (IllegalArgumentException invalid) {
            return null; // a method that is not a token, or a CONNECT authority with whitespace in it
        }
        CharSequence host = fields.get(HttpHeaderNames.HOST);
        if (authority != null && host != null && !AsciiString.contentEqualsIgnoreCase(host, authority)) {
            request.setDecoderResult(DecoderResult.failure(new MalformedRequestException(
                    "Host '" + host + "' disagrees with :authority '" + authority + "'")));
        }
        return request;
    }

    /**
     * Whether {@code path} is what {@code :path} may hold (RFC 9113 section 8.3.1, RFC 9114 section
     * 4.3.1): an absolute path with an optional query, or {@code *} for OPTIONS. Not the absolute
     * form, whose authority would route the request past {@code :authority} and Host; its bytes are
     * those an HTTP/1.1 request target may hold ({@link Http1FramingScanner#targetByte}).
     */
    static boolean originForm(CharSequence path, CharSequence method) {
        if (path.length() == 1 && path.charAt(0) == '*') {
            return HttpMethod.OPTIONS.asciiName().contentEquals(method);
        }
        if (path.length() == 0 || path.charAt(0) != '/') {
            return false;
        }
        for (int i = 1; i < path.length(); i++) {
            if (!Http1FramingScanner.targetByte(path.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code scheme} is a URI scheme (RFC 3986 section 3.1: a letter, then letters, digits,
     * "+", "-" or "."), as {@code :scheme} must be (RFC 9113 section 8.3.1, RFC 9114 section 4.3.1).
     * A missing one is not.
     */
    public static boolean validScheme(CharSequence scheme) {
        if (scheme == null || scheme.isEmpty() || !alpha(scheme.charAt(0))) {
            return false;
        }
        for (int i = 1; i < scheme.length(); i++) {
            char c = scheme.charAt(i);
            if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') {
                return false;
            }
        }
        return true;
    }

    private static boolean alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /**
     * A trailer section as the last part of a request. Fields a trailer must not carry are dropped,
     * as the HTTP/1.1 decoder drops them: an upstream could take a Content-Length or Host there for
     * the message's own.
     *
     * @return null when a pseudo-header, a connection-specific field or an invalid value is in it
     */
    public static LastHttpContent trailers(Headers<CharSequence, CharSequence, ?> fields) {
        LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, TRAILERS);
        try {
            for (Map.Entry<CharSequence, CharSequence> e : fields) {
                CharSequence name = e.getKey();
                if (name.length() > 0 && name.charAt(0) == ':' || forbidden(name, e.getValue())) {
                    return null;
                }
                if (!NOT_IN_TRAILERS.contains(AsciiString.of(name))) {
                    last.trailingHeaders().add(name, e.getValue());
                }
            }
        } catch (IllegalArgumentException invalid) {
            return null;
        }
        return last;
    }

    /**
     * The regular fields of {@code h2} as HTTP/1 headers: cookies joined with "; " (section 8.2.3),
     * {@code TE: trailers} dropped (hop-by-hop on HTTP/1), Host set from {@code :authority}.
     *
     * @return null when the request is malformed: a connection-specific field, {@code TE} other than
     *         trailers, a second Host, or a value HTTP/1 cannot carry
     */
    static HttpHeaders toHttp1(Headers<CharSequence, CharSequence, ?> h2, CharSequence authority) {
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
            if (authority != null) {
                headers.set(HttpHeaderNames.HOST, authority);
            }
        } catch (IllegalArgumentException invalid) {
            return null;
        }
        return headers;
    }

    /** Section 8.2.2 (RFC 9114 section 4.2): fields a request must not carry in HTTP/2 or HTTP/3. */
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
    public static long contentLength(HttpHeaders headers) {
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

    /** Why a request was answered 400 rather than routed. */
    static final class MalformedRequestException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MalformedRequestException(String message) {
            super(message, null, false, false);
        }
    }
}
