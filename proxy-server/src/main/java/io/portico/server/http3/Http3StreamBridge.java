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
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
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
import io.portico.server.http1.ClientFault;
import io.portico.server.http1.MalformedStream;
import io.portico.server.http1.StreamDeadlines;
import io.portico.server.http2.RequestFields;
import io.portico.server.http2.ResponseFields;

import java.io.IOException;
import java.util.Locale;
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
 *       that broke off) resets the stream with H3_INTERNAL_ERROR, so the client can tell;</li>
 *   <li>a header section over {@code http2.max_header_list_size} (counted as RFC 9114 section 4.2.2
 *       counts it) is answered 431 on its stream, as HTTP/2 answers it: the connection and its other
 *       streams carry on. Netty's codec, which closes the whole connection with H3_EXCESSIVE_LOAD,
 *       is given {@link #CODEC_LIMIT_FACTOR} times that limit, so only a section far past it (a
 *       QPACK bomb) ends the connection, as a header block past 1.25 times it does on HTTP/2;</li>
 *   <li>the listener's {@code http.header_timeout}, {@code http.body_timeout} and
 *       {@code http.min_body_rate} apply to each stream as to an HTTP/1.1 request: a head not
 *       complete within header_timeout of the stream's opening, no body bytes for body_timeout
 *       while the exchange asks for them, or a body below min_body_rate once body_timeout has
 *       passed ({@link StreamDeadlines}, with HTTP/1.1's {@code BodyRate}), is answered 408 (when
 *       nothing was answered yet), and the client is told to stop sending;</li>
 *   <li>every malformed request is counted, reset, and logged (400 with its reason) by the
 *       exchange handler ({@link MalformedStream}), as HTTP/1.1 logs the 400s it answers.</li>
 * </ul>
 */
final class Http3StreamBridge extends ChannelDuplexHandler implements StreamDeadlines.Owner {

    /**
     * Netty's codec limit (the SETTINGS_MAX_FIELD_SECTION_SIZE Portico advertises) over the header
     * section size Portico serves. Past the codec's limit it closes the whole connection; between
     * the two this bridge answers 431 on the one stream. A QPACK section's decoded size can be many
     * times its encoded size (32 bytes per field on top of the strings, Huffman), so an honest
     * client's oversized cookie stays well within this factor; the codec's limit bounds the memory
     * one decoded section may take.
     */
    static final int CODEC_LIMIT_FACTOR = 8;

    private final Http3Counters counters;
    /** The header section size served (http2.max_header_list_size); over it, 431. */
    private final long maxHeaderListSize;
    private final long headerTimeoutNanos;
    private final long bodyTimeoutNanos;
    private final long minBodyRate;
    private ChannelHandlerContext ctx;
    /** The head's deadline, then the body's (one timer per stream). */
    private StreamDeadlines deadlines;
    /** A fault (timeout, oversized head) went to the exchange handler: nothing more is read. */
    private boolean faulted;
    /**
     * A head without content-length, held until DATA or FIN says whether a body follows; or one
     * declaring 0 bytes ({@code declaredLength == 0}), held for the FIN as {@link #heldData} is.
     */
    private HttpRequest pending;
    /**
     * The DATA that brought a content-length's last byte, held for the FIN: passed on at once, the
     * upstream would have the whole request and answer it, and a stream that then turned out
     * malformed (more DATA) would have run there while its client was told it was refused.
     */
    private ByteBuf heldData;
    private boolean requestSeen;
    /** The request's fields while no exchange has them, for the access-log line of a stream refused as malformed. */
    private Http3Headers requestFields;
    private boolean requestEnded;
    private long declaredLength = -1;
    private long received;
    private boolean informational;
    private boolean responseEnded;
    private boolean reset;

    /**
     * @param maxHeaderListSize  header section bytes a request may have (RFC 9114 section 4.2.2 sizes)
     * @param headerTimeoutNanos the listener's header_timeout
     * @param bodyTimeoutNanos   the listener's body_timeout
     * @param minBodyRate        the listener's min_body_rate in bytes per second (0: off)
     */
    Http3StreamBridge(Http3Counters counters, long maxHeaderListSize, long headerTimeoutNanos, long bodyTimeoutNanos,
                      long minBodyRate) {
        this.counters = counters;
        this.maxHeaderListSize = maxHeaderListSize;
        this.headerTimeoutNanos = headerTimeoutNanos;
        this.bodyTimeoutNanos = bodyTimeoutNanos;
        this.minBodyRate = minBodyRate;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        deadlines = new StreamDeadlines(ctx, this, bodyTimeoutNanos, minBodyRate);
        // The stream exists once its first bytes came: its head is due within header_timeout of that.
        deadlines.awaitHead(headerTimeoutNanos);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        deadlines.stop();
        dropHeldData();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        deadlines.stop();
        dropHeldData();
        ctx.fireChannelInactive();
    }

    // ---- client → exchange ---------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (reset || requestEnded || faulted) {
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
        requestFields = h3;
        deadlines.headDone();
        if (sectionSize(h3) > maxHeaderListSize) {
            // As HTTP/2 answers a header list over SETTINGS_MAX_HEADER_LIST_SIZE: 431 on this stream only.
            counters.headerListTooLarge();
            fault(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "header_list_too_large");
            return;
        }
        if (h3.protocol() != null) {
            // Extended CONNECT (RFC 9220) is not offered in SETTINGS, so a :protocol is malformed.
            malformed(ctx, "protocol");
            return;
        }
        CharSequence method = h3.method();
        if (!(method != null && HttpMethod.CONNECT.asciiName().contentEquals(method))
                && !RequestFields.validScheme(h3.scheme())) {
            // Section 4.3.1: every request but CONNECT carries a :scheme; one without (or with no
            // scheme's syntax) is malformed and must not be forwarded.
            malformed(ctx, "scheme");
            return;
        }
        HttpRequest request = RequestFields.toRequest(method, h3.path(), h3.authority(), h3);
        if (request == null) {
            malformed(ctx, method == null ? "method" : h3.path() == null ? "path" : "fields");
            return;
        }
        declaredLength = RequestFields.contentLength(request.headers());
        if (declaredLength < 0 && request.decoderResult().isSuccess()) {
            pending = request;
            return;
        }
        if (declaredLength == 0 && request.decoderResult().isSuccess()) {
            // Complete already as far as an upstream can tell: it waits for the FIN (see heldData).
            pending = request;
            ctx.read();
            return;
        }
        // The exchange has the request now: a later refusal is logged on its line.
        requestFields = null;
        ctx.fireChannelRead(request);
    }

    private void onData(ChannelHandlerContext ctx, Http3DataFrame frame) {
        ByteBuf content = frame.content();
        received += content.readableBytes();
        if (!requestSeen || declaredLength >= 0 && received > declaredLength) {
            frame.release();
            malformed(ctx, requestSeen ? "body_longer_than_content_length" : "data_before_headers");
            return;
        }
        if (content.isReadable()) {
            // Bytes came: the body's clock starts again with the exchange's next ask.
            deadlines.bytesReceived(content.readableBytes());
        }
        if (pending != null && declaredLength == 0) {
            // Only an empty DATA gets here (any byte is past a length of 0): the head still waits.
            frame.release();
            ctx.read();
            return;
        }
        releasePendingHead(ctx, true);
        if (content.isReadable() && received == declaredLength) {
            // The last declared byte: it waits for the FIN (see heldData).
            heldData = content;
            ctx.read();
        } else if (content.isReadable()) {
            ctx.fireChannelRead(new DefaultHttpContent(content));
        } else {
            frame.release();
        }
    }

    private void releaseHeldData(ChannelHandlerContext ctx) {
        if (heldData != null) {
            ByteBuf data = heldData;
            heldData = null;
            ctx.fireChannelRead(new DefaultHttpContent(data));
        }
    }

    private void dropHeldData() {
        if (heldData != null) {
            heldData.release();
            heldData = null;
        }
    }

    private void onTrailers(ChannelHandlerContext ctx, Http3Headers fields) {
        if (declaredLength >= 0 && received != declaredLength) {
            malformed(ctx, "body_shorter_than_content_length");
            return;
        }
        LastHttpContent last = RequestFields.trailers(fields);
        if (last == null) {
            malformed(ctx, "trailers");
            return;
        }
        releasePendingHead(ctx, true);
        releaseHeldData(ctx);
        requestEnded = true;
        deadlines.stop();
        ctx.fireChannelRead(last);
    }

    /** The stream's FIN: the request is complete. */
    private void onRequestEnd(ChannelHandlerContext ctx) {
        if (reset || requestEnded || faulted) {
            return;
        }
        if (!requestSeen || declaredLength >= 0 && received != declaredLength) {
            malformed(ctx, requestSeen ? "body_shorter_than_content_length" : "no_headers");
            return;
        }
        releasePendingHead(ctx, false);
        releaseHeldData(ctx);
        requestEnded = true;
        deadlines.stop();
        ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /** Passes on a held head; {@code body} says whether a body of unknown length follows (sent chunked upstream). */
    private void releasePendingHead(ChannelHandlerContext ctx, boolean body) {
        HttpRequest head = pending;
        if (head == null) {
            return;
        }
        pending = null;
        requestFields = null;
        if (body && declaredLength < 0) {
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

    /**
     * A stream error (RFC 9114 section 4.1.2): counted, logged by the exchange handler as a 400 with
     * {@code what} in its reason, and both directions reset; the exchange sees its client go.
     */
    private void malformed(ChannelHandlerContext ctx, String what) {
        rejected(ctx, Http3ErrorCode.H3_MESSAGE_ERROR, "malformed_request:" + what);
    }

    /** Counts (when malformed), logs and resets a request the bridge or Netty's validator refused. */
    private void rejected(ChannelHandlerContext ctx, Http3ErrorCode code, String reason) {
        if (reset) {
            return;
        }
        if (code == Http3ErrorCode.H3_MESSAGE_ERROR) {
            counters.malformedRequest();
        }
        ctx.fireUserEventTriggered(MalformedStream.of(reason, requestFields));
        resetStream(ctx, code);
    }

    private void resetStream(ChannelHandlerContext ctx, Http3ErrorCode code) {
        if (reset) {
            return;
        }
        reset = true;
        deadlines.stop();
        pending = null;
        dropHeldData();
        ((QuicStreamChannel) ctx.channel()).shutdown(code.code()).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * Hands the exchange handler a fault to answer ({@code status} if nothing was answered yet, as
     * HTTP/1.1 answers its own); nothing more of the request is read or passed on. A head held
     * for want of content-length is dropped: no exchange started for it.
     */
    private void fault(HttpResponseStatus status, String reason) {
        faulted = true;
        deadlines.stop();
        pending = null;
        dropHeldData();
        ctx.fireUserEventTriggered(new ClientFault(status, reason));
    }

    /**
     * A header section's size as RFC 9114 section 4.2.2 counts it (and Netty's codec, against
     * SETTINGS_MAX_FIELD_SECTION_SIZE): each field's name and value lengths plus 32.
     */
    static long sectionSize(Http3Headers headers) {
        long size = 0;
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            size += e.getKey().length() + e.getValue().length() + 32L;
        }
        return size;
    }

    // ---- the head's and the body's clocks ----------------------------------------------------

    /** The exchange asks for bytes: while the body is due, body_timeout runs from here. */
    @Override
    public void read(ChannelHandlerContext ctx) {
        if (requestSeen && !requestEnded && !reset && !faulted) {
            deadlines.readRequested();
        }
        ctx.read();
    }

    /** A clock ran out: 408, as HTTP/1.1 answers it. */
    @Override
    public void clientTimeout(String reason) {
        if (!reset && !requestEnded && !faulted) {
            fault(HttpResponseStatus.REQUEST_TIMEOUT, reason);
        }
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
            rejected(ctx, code, "malformed_request:" + (code == Http3ErrorCode.H3_MESSAGE_ERROR
                    ? validationFault(cause) : code.name().toLowerCase(Locale.ROOT)));
            return;
        }
        if (cause instanceof IllegalArgumentException && !requestEnded) {
            // Netty's validator parses content-length without catching what that throws (abc, +5,
            // -1, two different values), before the fields reach this handler: a malformed request,
            // as Netty's HTTP/2 codec makes the same one a PROTOCOL_ERROR reset.
            malformed(ctx, "content_length");
            return;
        }
        if (cause instanceof QuicException || cause instanceof IOException) {
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    /** What Netty's validator refused, for the access log, from its message (it has no code of its own). */
    static String validationFault(Throwable cause) {
        Throwable t = cause;
        while (t.getCause() != null && !(t instanceof Http3HeadersValidationException) && !(t instanceof Http3Exception)) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
        if (m.contains("pseudo-header")) {
            return "pseudo_headers";
        }
        if (m.contains("connection header") || m.contains("te header")) {
            return "connection_specific_field";
        }
        if (m.contains("host")) {
            return "host";
        }
        if (m.contains("content-length")) {
            return "content_length";
        }
        return "fields";
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
        ResponseFields.copy(headers, h3);
        return h3;
    }
}
