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

import java.nio.charset.StandardCharsets;

/** Responses Portico writes itself: errors with the request id, redirects, fixed bodies. */
final class LocalResponses {

    static final AsciiString SERVER = AsciiString.cached("portico");
    private static final AsciiString TEXT = AsciiString.cached("text/plain; charset=utf-8");

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
        if (bytes.length > 0 || contentType != TEXT) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
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
