package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.portico.http.LastValue;
import io.portico.http.cache.HttpDates;

import java.nio.charset.StandardCharsets;

/** Responses Portico writes itself: errors with the request id, redirects, fixed bodies. */
final class LocalResponses {

    static final AsciiString SERVER = AsciiString.cached("portico");
    private static final AsciiString TEXT = AsciiString.cached("text/plain; charset=utf-8");
    /** This second's Date value, made once a second. */
    private static final LastValue<Long, AsciiString> DATES = new LastValue<>();

    private LocalResponses() {
    }

    /** A small error page naming the status and the request id, so a user can find the log line. */
    static FullHttpResponse error(ByteBufAllocator alloc, HttpResponseStatus status, String requestId,
                                  boolean head) {
        String text = status.code() + " " + status.reasonPhrase() + "\nrequest_id: "
                + (requestId == null ? "-" : requestId) + "\n";
        return text(alloc, status, text, TEXT, head);
    }

    static FullHttpResponse text(ByteBufAllocator alloc, HttpResponseStatus status, String body,
                                 CharSequence contentType, boolean head) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ByteBuf content = head ? alloc.buffer(0) : alloc.buffer(bytes.length).writeBytes(bytes);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.SERVER, SERVER);
        // Portico answers as an origin here, which must send Date (RFC 9110 section 6.6.1).
        r.headers().set(HttpHeaderNames.DATE, date());
        if (bytes.length > 0 || contentType != TEXT) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    /**
     * nginx's answer to plain HTTP on a TLS port, as bytes: the connection has no HTTP codec yet
     * (it was waiting for a ClientHello), and closes after it.
     */
    static ByteBuf plainHttpOnTlsPort(ByteBufAllocator alloc) {
        String body = "400 Bad Request\nThe plain HTTP request was sent to HTTPS port\n";
        String head = "HTTP/1.1 400 Bad Request\r\nServer: " + SERVER + "\r\nDate: " + date()
                + "\r\nContent-Type: " + TEXT + "\r\nContent-Length: " + body.length()
                + "\r\nConnection: close\r\n\r\n";
        byte[] bytes = (head + body).getBytes(StandardCharsets.US_ASCII);
        return alloc.buffer(bytes.length).writeBytes(bytes);
    }

    private static AsciiString date() {
        return DATES.get(System.currentTimeMillis() / 1000, s -> new AsciiString(HttpDates.format(s * 1000)));
    }

    static FullHttpResponse redirect(ByteBufAllocator alloc, int status, String location, boolean head) {
        HttpResponseStatus s = HttpResponseStatus.valueOf(status);
        FullHttpResponse r = text(alloc, s, s.code() + " " + s.reasonPhrase() + "\n", TEXT, head);
        r.headers().set(HttpHeaderNames.LOCATION, location);
        return r;
    }

    static void markClose(FullHttpResponse r, boolean keepAlive, boolean http10) {
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (http10) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }
}
