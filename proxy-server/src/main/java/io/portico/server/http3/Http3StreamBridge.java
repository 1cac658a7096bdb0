package io.portico.server.http3;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http3.DefaultHttp3DataFrame;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.http3.Http3Exception;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3HeadersValidationException;
import io.netty.handler.codec.quic.QuicException;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseNotifier;
import io.portico.server.http2.RequestFields;

import java.io.IOException;
import java.util.Map;

/**
 * Translates one HTTP/3 request stream to the HTTP/1-shaped messages the exchange handler speaks,
 * and its answer back (RFC 9114 section 4), with the same field rules as HTTP/2 ({@link RequestFields}):
 *
 * <ul>
 *   <li>pseudo-headers become the request line, {@code :authority} the Host (a Host that disagrees
 *       gets 400); connection-specific fields, a bad content-length or a missing {@code :method} or
 *       {@code :path} reset the stream with H3_MESSAGE_ERROR before anything reaches an upstream
 *       (Netty's validator checks most of them first; this is the second line);</li>
 *   <li>the request ends with the stream's FIN, not with a frame flag: a head without
 *       content-length waits here until the first DATA (then the body goes upstream chunked) or the
 *       FIN (then there is none), so a GET never reaches an HTTP/1.1 upstream with a chunked body;</li>
 *   <li>DATA is counted against content-length; too much, or too little at FIN, is H3_MESSAGE_ERROR;</li>
 *   <li>the response's last part is followed by FIN; an exchange that ends without it (an upstream
 *       that broke off) resets the stream with H3_INTERNAL_ERROR, so the client can tell.</li>
 * </ul>
 */
final class Http3StreamBridge extends ChannelDuplexHandler {

    private final Http3Counters counters;
    /** A head without content-length, held until DATA or FIN says whether a body follows. */
    private HttpRequest pending;
    private boolean requestSeen;
    private boolean requestEnded;
    private long declaredLength = -1;
    private long received;
    private boolean informational;
    private boolean responseEnded;
    private boolean reset;

    Http3StreamBridge(Http3Counters counters) {
        this.counters = counters;
    }

    // ---- client → exchange ---------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (reset || requestEnded) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof Http3HeadersFrame headers) {
            if (!requestSeen) {
                onRequestHeaders(ctx, headers.headers());
            } else {
                onTrailers(ctx, headers.headers());
            }
        } else if (msg instanceof Http3DataFrame data) {
            onData(ctx, data);
        } else {
            // Unknown frame types are to be ignored (RFC 9114 section 9).
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequestHeaders(ChannelHandlerContext ctx, Http3Headers h3) {
        requestSeen = true;
        if (h3.protocol() != null) {
            // Extended CONNECT (RFC 9220) is not offered in SETTINGS, so a :protocol is malformed.
            malformed(ctx);
            return;
        }
        CharSequence method = h3.method();
        if (!(method != null && HttpMethod.CONNECT.asciiName().contentEquals(method))
                && !RequestFields.validScheme(h3.scheme())) {
            // Section 4.3.1: every request but CONNECT carries a :scheme; one without (or with no
            // scheme's syntax) is malformed and must not be forwarded.
            malformed(ctx);
            return;
        }
        HttpRequest request = RequestFields.toRequest(method, h3.path(), h3.authority(), h3);
        if (request == null) {
            malformed(ctx);
            return;
        }
        declaredLength = RequestFields.contentLength(request.headers());
        if (declaredLength < 0 && request.decoderResult().isSuccess()) {
            pending = request;
            return;
        }
        ctx.fireChannelRead(request);
    }

    private void onData(ChannelHandlerContext ctx, Http3DataFrame frame) {
        ByteBuf content = frame.content();
        received += content.readableBytes();
        if (!requestSeen || declaredLength >= 0 && received > declaredLength) {
            frame.release();
            malformed(ctx);
            return;
        }
        releasePendingHead(ctx, true);
        if (content.isReadable()) {
            ctx.fireChannelRead(new DefaultHttpContent(content));
        } else {
            frame.release();
        }
    }

    private void onTrailers(ChannelHandlerContext ctx, Http3Headers fields) {
        LastHttpContent last = RequestFields.trailers(fields);
        if (last == null || declaredLength >= 0 && received != declaredLength) {
            malformed(ctx);
            return;
        }
        releasePendingHead(ctx, true);
        requestEnded = true;
        ctx.fireChannelRead(last);
    }

    /** The stream's FIN: the request is complete. */
    private void onRequestEnd(ChannelHandlerContext ctx) {
        if (reset || requestEnded) {
            return;
        }
        if (!requestSeen || declaredLength >= 0 && received != declaredLength) {
            malformed(ctx);
            return;
        }
        releasePendingHead(ctx, false);
        requestEnded = true;
        ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /** Passes on a held head; {@code body} says whether a body of unknown length follows (sent chunked upstream). */
    private void releasePendingHead(ChannelHandlerContext ctx, boolean body) {
        HttpRequest head = pending;
        if (head == null) {
            return;
        }
        pending = null;
        if (body) {
            head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        ctx.fireChannelRead(head);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            onRequestEnd(ctx);
            return;
        }
        if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** A stream error (RFC 9114 section 4.1.2): reset both directions; the exchange sees its client go. */
    private void malformed(ChannelHandlerContext ctx) {
        counters.malformedRequest();
        resetStream(ctx, Http3ErrorCode.H3_MESSAGE_ERROR);
    }

    private void resetStream(ChannelHandlerContext ctx, Http3ErrorCode code) {
        if (reset) {
            return;
        }
        reset = true;
        pending = null;
        ((QuicStreamChannel) ctx.channel()).shutdown(code.code()).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof QuicStreamResetException) {
            // The client reset the stream: it is done, and the exchange hears of it as its client closing.
            reset = true;
            ctx.close();
            return;
        }
        Http3ErrorCode code = errorCode(cause);
        if (code != null) {
            // Netty's validator found the request malformed (RFC 9114 section 4.1.2): reset with its code.
            if (code == Http3ErrorCode.H3_MESSAGE_ERROR) {
                counters.malformedRequest();
            }
            resetStream(ctx, code);
            return;
        }
        if (cause instanceof IllegalArgumentException && !requestEnded) {
            // Netty's validator parses content-length without catching what that throws (abc, +5,
            // -1, two different values), before the fields reach this handler: a malformed request,
            // as Netty's HTTP/2 codec makes the same one a PROTOCOL_ERROR reset.
            malformed(ctx);
            return;
        }
        if (cause instanceof QuicException || cause instanceof IOException) {
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private static Http3ErrorCode errorCode(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof Http3HeadersValidationException) {
                return Http3ErrorCode.H3_MESSAGE_ERROR;
            }
            if (t instanceof Http3Exception e) {
                return e.errorCode();
            }
        }
        return null;
    }

    // ---- exchange → client ---------------------------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response) {
            writeHead(ctx, response, promise);
        } else if (msg instanceof HttpContent content) {
            writeContent(ctx, content, promise);
        } else {
            ctx.write(msg, promise);
        }
    }

    private void writeHead(ChannelHandlerContext ctx, HttpResponse response, ChannelPromise promise) {
        int code = response.status().code();
        Http3Headers headers = toHttp3(response.headers());
        headers.status(response.status().codeAsText());
        if (code < 200) {
            // 103 Early Hints and friends: a HEADERS frame of their own; their (empty) body parts are dropped.
            informational = !(response instanceof FullHttpResponse);
            ReferenceCountUtil.release(response);
            ctx.write(new DefaultHttp3HeadersFrame(headers), promise);
            return;
        }
        if (response instanceof FullHttpResponse full) {
            ctx.write(new DefaultHttp3HeadersFrame(headers), ctx.voidPromise());
            writeContent(ctx, full, promise);
            return;
        }
        ctx.write(new DefaultHttp3HeadersFrame(headers), promise);
    }

    private void writeContent(ChannelHandlerContext ctx, HttpContent content, ChannelPromise promise) {
        boolean last = content instanceof LastHttpContent;
        if (informational) {
            content.release();
            informational = !last;
            promise.trySuccess();
            return;
        }
        ByteBuf data = content.content();
        if (!last) {
            if (data.isReadable()) {
                ctx.write(new DefaultHttp3DataFrame(data), promise);
            } else {
                content.release();
                promise.trySuccess();
            }
            return;
        }
        HttpHeaders trailers = ((LastHttpContent) content).trailingHeaders();
        ChannelFuture end;
        if (data.isReadable()) {
            end = ctx.write(new DefaultHttp3DataFrame(data));
        } else {
            content.release();
            end = null;
        }
        if (!trailers.isEmpty()) {
            end = ctx.write(new DefaultHttp3HeadersFrame(toHttp3(trailers)));
        }
        finish(ctx, end, promise);
    }

    /** After the last frame has really left (DATA may wait for flow control), the FIN. */
    private void finish(ChannelHandlerContext ctx, ChannelFuture lastFrame, ChannelPromise promise) {
        responseEnded = true;
        QuicStreamChannel stream = (QuicStreamChannel) ctx.channel();
        if (lastFrame == null) {
            stream.shutdownOutput().addListener(new PromiseNotifier<>(promise));
            return;
        }
        lastFrame.addListener(f -> {
            if (f.isSuccess()) {
                stream.shutdownOutput().addListener(new PromiseNotifier<>(promise));
            } else {
                promise.tryFailure(f.cause());
            }
        });
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        QuicStreamChannel stream = (QuicStreamChannel) ctx.channel();
        if (!reset && stream.isActive()) {
            reset = true;
            if (!responseEnded) {
                // The exchange gave up before its answer was complete: say so rather than end cleanly.
                stream.shutdown(Http3ErrorCode.H3_INTERNAL_ERROR.code());
            } else if (!requestEnded) {
                // Answered before the request was all in (413, an early error): ask the client to
                // stop sending (RFC 9114 section 4.1); it keeps the complete response.
                stream.shutdownInput(Http3ErrorCode.H3_NO_ERROR.code());
            }
        }
        ctx.close(promise);
    }

    /** A response's fields for HTTP/3: lower case names, connection-specific ones dropped (as for HTTP/2). */
    private static Http3Headers toHttp3(HttpHeaders headers) {
        Http3Headers h3 = new DefaultHttp3Headers(false, headers.size() + 1);
        for (Map.Entry<CharSequence, CharSequence> e : HttpConversionUtil.toHttp2Headers(headers, false)) {
            h3.add(e.getKey(), e.getValue());
        }
        return h3;
    }
}
