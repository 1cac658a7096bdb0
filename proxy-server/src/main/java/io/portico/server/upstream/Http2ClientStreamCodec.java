package io.portico.server.upstream;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;

import java.util.Iterator;
import java.util.Map;

/**
 * Translates one upstream stream between the exchange's HTTP/1.x objects and HTTP/2 frames.
 *
 * <p>Request (HTTP/1.1 → HTTP/2): {@code :method}, {@code :path} from the target, {@code :scheme}
 * from the connection ({@code https} over TLS), {@code :authority} from Host; connection-specific
 * headers (Connection and what it names, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade,
 * Host) dropped, TE kept only as {@code trailers}, Cookie split into one field per pair for HPACK;
 * a body-less request ends the stream with its HEADERS; trailers become a final HEADERS frame.
 *
 * <p>Response (HTTP/2 → HTTP/1.1): {@code :status} and the fields, each value checked for bytes an
 * HTTP/1.1 message cannot carry; 1xx (103 Early Hints) as their own head; trailers as the last
 * part's trailing headers; Content-Length checked against the DATA received (too much, too little,
 * or any body for HEAD/204/304 fails the response). A malformed response comes out as a message
 * whose decoder result is a failure: 502 before the head went to the client, a cut response after.
 */
final class Http2ClientStreamCodec extends ChannelDuplexHandler {

    private static final HttpHeadersFactory CHECKED = DefaultHttpHeadersFactory.headersFactory()
            .withValidation(true).withValueValidation(true);
    private static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory()
            .withValidation(true).withValueValidation(true);
    private static final AsciiString HTTPS = AsciiString.cached("https");
    private static final AsciiString HTTP = AsciiString.cached("http");

    private final AsciiString scheme;
    private boolean requestEnded;
    private boolean head;
    private boolean finalSeen;
    private boolean bodyless;
    private boolean failed;
    private long declaredLength = -1;
    private long received;

    Http2ClientStreamCodec(boolean tls) {
        this.scheme = tls ? HTTPS : HTTP;
    }

    // ---- request: HTTP/1.x objects → frames ---------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpRequest request) {
            if (!(msg instanceof HttpContent)) {
                writeHead(ctx, request, promise);
                return;
            }
            // A full request: the head, then its content as the last part.
            writeHead(ctx, request, ctx.voidPromise());
        }
        if (!(msg instanceof HttpContent content)) {
            ctx.write(msg, promise);
            return;
        }
        if (requestEnded) {
            // The head already ended the stream (no body was announced): only an empty end can follow.
            content.release();
            promise.setSuccess();
            return;
        }
        if (!(content instanceof LastHttpContent last)) {
            ctx.write(new DefaultHttp2DataFrame(content.content(), false), promise);
            return;
        }
        requestEnded = true;
        HttpHeaders trailers = last.trailingHeaders();
        if (trailers.isEmpty()) {
            ctx.write(new DefaultHttp2DataFrame(last.content(), true), promise);
            return;
        }
        Http2Headers h2Trailers = new DefaultHttp2Headers(false);
        HttpConversionUtil.toHttp2Headers(trailers, h2Trailers);
        if (last.content().isReadable()) {
            ctx.write(new DefaultHttp2DataFrame(last.content(), false), ctx.voidPromise());
        } else {
            last.release();
        }
        ctx.write(new DefaultHttp2HeadersFrame(h2Trailers, true), promise);
    }

    private void writeHead(ChannelHandlerContext ctx, HttpRequest request, ChannelPromise promise) {
        head = HttpMethod.HEAD.equals(request.method());
        HttpHeaders in = request.headers();
        boolean noBody = !HttpUtil.isTransferEncodingChunked(request) && HttpUtil.getContentLength(request, 0L) == 0;
        Http2Headers out = new DefaultHttp2Headers(false, in.size() + 4);
        out.method(request.method().asciiName())
                .path(request.uri())
                .scheme(scheme);
        String host = in.get(HttpHeaderNames.HOST);
        if (host != null) {
            out.authority(host);
        }
        // Drops the connection-specific fields, keeps TE only as "trailers", splits Cookie.
        HttpConversionUtil.toHttp2Headers(in, out);
        if (request instanceof LastHttpContent last) {
            noBody = !last.content().isReadable() && last.trailingHeaders().isEmpty();
        }
        requestEnded = noBody;
        ctx.write(new DefaultHttp2HeadersFrame(out, noBody), promise);
    }

    // ---- response: frames → HTTP/1.x objects ---------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (failed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http2HeadersFrame frame) {
            onHeaders(ctx, frame);
        } else if (msg instanceof Http2DataFrame frame) {
            onData(ctx, frame);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    private void onHeaders(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
        Http2Headers headers = frame.headers();
        if (finalSeen) {
            // Trailers: they must end the stream and carry no pseudo-header.
            LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, TRAILERS);
            if (!frame.isEndStream() || !copyFields(headers, last.trailingHeaders(), false) || !lengthComplete()) {
                fail(ctx, "malformed trailers or body length");
                return;
            }
            ctx.fireChannelRead(last);
            return;
        }
        int code = status(headers);
        if (code < 100 || code == 101 || (code < 200 && frame.isEndStream())) {
            fail(ctx, "bad :status");
            return;
        }
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code), CHECKED);
        if (!copyFields(headers, response.headers(), true)) {
            fail(ctx, "malformed header field");
            return;
        }
        if (code < 200) {
            ctx.fireChannelRead(response);
            ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        String length = response.headers().get(HttpHeaderNames.CONTENT_LENGTH);
        if (length != null) {
            declaredLength = parseLength(length);
            if (declaredLength < 0 || response.headers().getAll(HttpHeaderNames.CONTENT_LENGTH).size() > 1) {
                fail(ctx, "bad content-length");
                return;
            }
        }
        finalSeen = true;
        bodyless = head || code == 204 || code == 304;
        if (frame.isEndStream()) {
            if (!bodyless && declaredLength > 0) {
                fail(ctx, "content-length without DATA");
                return;
            }
            if (!bodyless && length == null) {
                // The whole response is known to be empty: say so rather than chunk nothing.
                response.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
            }
            ctx.fireChannelRead(response);
            ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        ctx.fireChannelRead(response);
    }

    private void onData(ChannelHandlerContext ctx, Http2DataFrame frame) {
        int n = frame.content().readableBytes();
        received += n;
        if (!finalSeen || (bodyless && n > 0) || (declaredLength >= 0 && received > declaredLength)
                || (frame.isEndStream() && !lengthComplete())) {
            frame.release();
            fail(ctx, "DATA does not match the response head");
            return;
        }
        ctx.fireChannelRead(frame.isEndStream() ? new DefaultLastHttpContent(frame.content(), TRAILERS)
                : new DefaultHttpContent(frame.content()));
    }

    private boolean lengthComplete() {
        return bodyless || declaredLength < 0 || received == declaredLength;
    }

    /** Passes on a failure the exchange sees as a malformed head (502) or body (cut response). */
    private void fail(ChannelHandlerContext ctx, String why) {
        failed = true;
        IllegalStateException cause = new IllegalStateException("upstream HTTP/2 response: " + why);
        if (!finalSeen) {
            HttpResponse bad = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_GATEWAY);
            bad.setDecoderResult(DecoderResult.failure(cause));
            ctx.fireChannelRead(bad);
        } else {
            LastHttpContent bad = new DefaultLastHttpContent();
            bad.setDecoderResult(DecoderResult.failure(cause));
            ctx.fireChannelRead(bad);
        }
    }

    private static int status(Http2Headers headers) {
        CharSequence s = headers.status();
        if (s == null || s.length() != 3) {
            return -1;
        }
        int code = 0;
        for (int i = 0; i < 3; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            code = code * 10 + (c - '0');
        }
        return code;
    }

    private static long parseLength(String s) {
        if (s.isEmpty() || s.length() > 18) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    /**
     * Copies the regular fields; false on a pseudo-header other than a response's {@code :status}, or
     * a value HTTP/1.1 cannot carry (CR, LF, NUL would split or corrupt the client's response).
     */
    private static boolean copyFields(Http2Headers from, HttpHeaders to, boolean response) {
        try {
            Iterator<Map.Entry<CharSequence, CharSequence>> it = from.iterator();
            while (it.hasNext()) {
                Map.Entry<CharSequence, CharSequence> e = it.next();
                CharSequence name = e.getKey();
                if (name.length() > 0 && name.charAt(0) == ':') {
                    if (!response || !Http2Headers.PseudoHeaderName.STATUS.value().contentEquals(name)) {
                        return false;
                    }
                    continue;
                }
                to.add(name, e.getValue());
            }
            return true;
        } catch (IllegalArgumentException invalid) {
            return false;
        }
    }
}
