package io.portico.server.http2;

import io.netty.handler.codec.Headers;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.portico.http.HopByHopHeaders;

import java.util.Iterator;
import java.util.Map;

/**
 * A response's fields as HTTP/2 and HTTP/3 carry them (RFC 9113 section 8.2, RFC 9114 section
 * 4.2): names in lower case, and the connection-specific fields dropped ({@code Connection},
 * {@code Keep-Alive}, {@code Proxy-Connection}, {@code Transfer-Encoding}, {@code Upgrade},
 * {@code TE}, a request field, and {@code Host} and Netty's {@code x-http2-*} names, as Netty's
 * {@link HttpConversionUtil} drops them).
 *
 * <p>Netty's conversion copies every name to lower case (a new string for each upper-case name an
 * HTTP/1.1 origin sends, such as {@code Content-Type}) and builds a map of the {@code Connection}
 * field's options for every message. Here a name an origin commonly sends maps to Netty's
 * lower-case constant without a copy, and a {@code Connection} field that names anything but
 * {@code close} or {@code keep-alive} (which a proxied head no longer has: {@code HopByHopHeaders}
 * took those fields out) leaves the conversion to Netty, so the fields it nominates are dropped too.
 */
public final class ResponseFields {

    /** Lower-case names an origin's response commonly carries, looked up without a copy. */
    private static final AsciiString[] COMMON = {
        HttpHeaderNames.ACCEPT_RANGES, HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS,
        HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS,
        HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, HttpHeaderNames.AGE, HttpHeaderNames.ALLOW,
        HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.CONNECTION, HttpHeaderNames.CONTENT_DISPOSITION,
        HttpHeaderNames.CONTENT_ENCODING, HttpHeaderNames.CONTENT_LANGUAGE, HttpHeaderNames.CONTENT_LENGTH,
        HttpHeaderNames.CONTENT_LOCATION, HttpHeaderNames.CONTENT_RANGE,
        HttpHeaderNames.CONTENT_SECURITY_POLICY, HttpHeaderNames.CONTENT_TYPE, HttpHeaderNames.DATE,
        HttpHeaderNames.ETAG, HttpHeaderNames.EXPIRES, HttpHeaderNames.KEEP_ALIVE,
        HttpHeaderNames.LAST_MODIFIED, AsciiString.cached("link"), HttpHeaderNames.LOCATION,
        HttpHeaderNames.PRAGMA, HttpHeaderNames.RETRY_AFTER, HttpHeaderNames.SERVER,
        HttpHeaderNames.SET_COOKIE, AsciiString.cached("strict-transport-security"), HttpHeaderNames.TRAILER,
        HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE, HttpHeaderNames.VARY,
        HttpHeaderNames.VIA, HttpHeaderNames.WWW_AUTHENTICATE, AsciiString.cached("x-content-type-options"),
        HttpHeaderNames.X_FRAME_OPTIONS, AsciiString.cached("x-request-id"), AsciiString.cached("alt-svc"),
        AsciiString.cached("cache-status"), AsciiString.cached("x-cache"), AsciiString.cached("server-timing"),
        AsciiString.cached("referrer-policy"), AsciiString.cached("x-xss-protection"),
    };
    /** {@link #COMMON} and {@link #DROPPED} by case-insensitive hash, open addressing. */
    private static final AsciiString[] TABLE = new AsciiString[256];

    private static final AsciiString PROXY_CONNECTION = AsciiString.cached("proxy-connection");
    /** Connection-specific names, each the very instance {@link #lowerCase} returns for it (see the static block). */
    private static final AsciiString[] DROPPED = {
        HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, PROXY_CONNECTION, HttpHeaderNames.TRANSFER_ENCODING,
        HttpHeaderNames.UPGRADE, HttpHeaderNames.HOST, HttpHeaderNames.TE,
        HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text(), HttpConversionUtil.ExtensionHeaderNames.SCHEME.text(),
        HttpConversionUtil.ExtensionHeaderNames.PATH.text(),
    };

    static {
        for (AsciiString name : COMMON) {
            insert(name);
        }
        for (int i = 0; i < DROPPED.length; i++) {
            AsciiString known = find(DROPPED[i]);
            if (known == null) {
                insert(DROPPED[i]);
            } else {
                DROPPED[i] = known;
            }
        }
    }

    private static void insert(AsciiString name) {
        int i = name.hashCode() & (TABLE.length - 1);
        while (TABLE[i] != null) {
            i = (i + 1) & (TABLE.length - 1);
        }
        TABLE[i] = name;
    }

    /** The table's instance of {@code name}, compared without case, or null. */
    private static AsciiString find(CharSequence name) {
        int i = AsciiString.hashCode(name) & (TABLE.length - 1);
        AsciiString known;
        while ((known = TABLE[i]) != null) {
            if (known.contentEqualsIgnoreCase(name)) {
                return known;
            }
            i = (i + 1) & (TABLE.length - 1);
        }
        return null;
    }

    private ResponseFields() {
    }

    /** A response head's fields for HTTP/2, {@code :status} first. */
    static Http2Headers toHttp2(HttpResponse response) {
        HttpHeaders in = response.headers();
        Http2Headers out = new DefaultHttp2Headers(false, in.size() + 1);
        out.status(response.status().codeAsText());
        copy(in, out);
        return out;
    }

    /** A trailer section's fields for HTTP/2. */
    static Http2Headers trailersToHttp2(HttpHeaders trailers) {
        Http2Headers out = new DefaultHttp2Headers(false, trailers.size());
        copy(trailers, out);
        return out;
    }

    /** Adds {@code in}'s fields to {@code out}, names in lower case, connection-specific fields left out. */
    public static void copy(HttpHeaders in, Headers<CharSequence, CharSequence, ?> out) {
        if (HopByHopHeaders.namesOtherOptions(in)) {
            // Rare: Netty's conversion also drops the fields the Connection field names.
            for (Map.Entry<CharSequence, CharSequence> field : HttpConversionUtil.toHttp2Headers(in, false)) {
                out.add(field.getKey(), field.getValue());
            }
            return;
        }
        Iterator<Map.Entry<CharSequence, CharSequence>> fields = in.iteratorCharSequence();
        while (fields.hasNext()) {
            Map.Entry<CharSequence, CharSequence> field = fields.next();
            AsciiString name = lowerCase(field.getKey());
            if (!dropped(name)) {
                out.add(name, field.getValue());
            }
        }
    }

    /** {@code name} in lower case: a shared constant for a common name, else a copy only if needed. */
    static AsciiString lowerCase(CharSequence name) {
        AsciiString known = find(name);
        return known != null ? known : AsciiString.of(name).toLowerCase();
    }

    /** Whether {@code name}, as {@link #lowerCase} returned it, is connection-specific: every such name is in the table. */
    private static boolean dropped(AsciiString name) {
        for (AsciiString d : DROPPED) {
            if (d == name) {
                return true;
            }
        }
        return false;
    }
}
