package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.http1.ClientFault;
import io.portico.server.http1.MalformedStream;
import io.portico.server.http1.StreamDeadlines;
import io.portico.websocket.HalfClose;

import java.util.function.Function;

/**
 * Translates one HTTP/2 stream to the HTTP/1-shaped messages the exchange handler speaks, and its
 * answer back (RFC 9113 section 8.3 and 8.2):
 *
 * <ul>
 *   <li>pseudo-headers become the request line; {@code :authority} becomes Host, and a Host that
 *       disagrees with it gets 400 (as nginx); a request without {@code :scheme} (a plain CONNECT
 *       aside) is malformed;</li>
 *   <li>connection-specific fields and {@code TE} other than {@code trailers} are refused with
 *       RST_STREAM PROTOCOL_ERROR (Netty's HPACK decoder checks them first; this is the second line);</li>
 *   <li>cookie fields are joined with "; " for HTTP/1 upstreams (section 8.2.3);</li>
 *   <li>DATA is counted against content-length: too much or too little resets the stream with
 *       PROTOCOL_ERROR, and the request never completes upstream;</li>
 *   <li>trailers pass both ways; 1xx responses go out as HEADERS without END_STREAM; a response's
 *       hop-by-hop fields are dropped;</li>
 *   <li>an extended CONNECT with {@code :protocol websocket} (RFC 8441) becomes an HTTP/1.1 opening
 *       handshake with a key of Portico's; the upstream's 101 becomes 200, and from then on the
 *       stream's DATA frames carry the WebSocket bytes both ways for the relay;</li>
 *   <li>the listener's {@code http.body_timeout} applies to each stream as to an HTTP/1.1 request
 *       (and as on HTTP/3): no DATA for body_timeout while the exchange asks for the body is
 *       answered 408 (when nothing was answered yet; else the stream is reset), after which the
 *       client is told to stop sending (RST_STREAM NO_ERROR), and logged with
 *       {@code client_body_timeout}. The connection's other streams carry on. There is no
 *       per-stream header_timeout: Netty's codec opens a stream only once its header block is
 *       complete (a header block that dawdles holds the whole connection, not a stream).</li>
 * </ul>
 */
final class Http2StreamBridge extends ChannelDuplexHandler implements StreamDeadlines.Owner {

    private static final AsciiString PROTOCOL = Http2Headers.PseudoHeaderName.PROTOCOL.value();
    /** DATA bytes written since a stream's last flush below which the flush is gathered (see {@link #flush}). */
    private static final int GATHERED_FLUSH_BYTES = 4096;
    /** The access log's error for a malformed stream: the key of its counter. */
    private static final String MALFORMED = Http2Counters.Reason.MALFORMED_REQUEST.key();
    /** Ends a tunnel's sending direction: an empty DATA frame with END_STREAM (RFC 8441 section 4). */
    private static final Function<Channel, ChannelFuture> END_STREAM =
            ch -> ch.writeAndFlush(new DefaultHttp2DataFrame(true));

    private final Http2Counters counters;
    private final Http2ConnectionGuard guard;
    private final long bodyTimeoutNanos;
    private final long minBodyRate;
    private ChannelHandlerContext ctx;
    /** The stream, for its frames written straight to the connection's encoder; null outside a stream's channel. */
    private Http2FrameStream stream;
    /** Frames went straight to the encoder since the last flush: the connection must be flushed, not this channel. */
    private boolean unflushedDirect;
    /**
     * The body's clock (body_timeout), running while the exchange asks for DATA that does not
     * come; made only for a request with a body (most have none), else null.
     */
    private StreamDeadlines deadlines;
    /** When a frame last came in or a message went out, for the connection's stall sweep. */
    private long lastActivity;
    private boolean requestSeen;
    private boolean requestEnded;
    /**
     * The client's END_STREAM came: from then on a read stays pending on the stream's channel and
     * whatever else might come on it is dropped, so nothing queued unread can keep Netty from
     * closing the channel once the response's END_STREAM is out. (Nothing should: the codec
     * refuses HEADERS and DATA after END_STREAM, PRIORITY and RST_STREAM reach a stream as events,
     * and {@link Http2StreamErrors} drops frames of unknown types before they reach any stream.)
     */
    private boolean clientEnded;
    private long declaredLength = -1;
    private long received;
    /**
     * With a content-length, what completes it waits here for the client's END_STREAM: the head of
     * a request declaring 0 bytes, or the DATA that brought the last declared byte. Passed on at
     * once, the upstream would have the whole request and answer it, and a stream that then turns
     * out malformed (more DATA) would have run there while its client was told it was refused
     * (RFC 9113 section 8.1.1: a malformed request is not forwarded).
     */
    private HttpRequest heldHead;
    /** The fields of {@link #heldHead}, for the access log should the stream turn out malformed. */
    private Http2Headers heldFields;
    private ByteBuf heldData;
    private boolean informational;
    private boolean reset;
    /** DATA bytes written since the last flush. */
    private long unflushedData;
    /** A fault (the body's timeout) went to the exchange handler: nothing more is read. */
    private boolean faulted;
    /** An extended CONNECT for a WebSocket (RFC 8441) waits for its upstream's 101. */
    private boolean webSocketPending;
    /** The stream carries WebSocket bytes both ways in DATA frames. */
    private boolean tunnel;

    /**
     * @param bodyTimeoutNanos the listener's http.body_timeout
     * @param minBodyRate      the listener's http.min_body_rate in bytes per second (0: off)
     */
    Http2StreamBridge(Http2Counters counters, Http2ConnectionGuard guard, long bodyTimeoutNanos, long minBodyRate) {
        this.counters = counters;
        this.guard = guard;
        this.bodyTimeoutNanos = bodyTimeoutNanos;
        this.minBodyRate = minBodyRate;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel() instanceof Http2StreamChannel ch) {
            stream = ch.stream();
        }
        lastActivity = System.nanoTime();
        guard.track(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stopDeadlines();
        dropHeld();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stopDeadlines();
        dropHeld();
        guard.untrack(this);
        ctx.fireChannelInactive();
    }

    /**
     * Called by the connection's sweep: when nothing moved on this stream for {@code timeoutNanos},
     * the exchange handler gets an {@link IdleStateEvent} and decides whether the stream is stuck
     * on the client. A WebSocket tunnel has its own idle timeout and heartbeats.
     */
    void checkIdle(long now, long timeoutNanos) {
        if (!tunnel && now - lastActivity >= timeoutNanos) {
            lastActivity = now;
            ctx.fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        }
    }

    // ---- client → exchange ---------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (tunnel) {
            lastActivity = System.nanoTime();
            readTunnel(ctx, msg);
            return;
        }
        if (reset || requestEnded || faulted) {
            // Dropped, and not counted as the stream's activity: a client must not keep a stuck
            // stream from its idle sweep by sending frames nobody reads.
            ReferenceCountUtil.release(msg);
            if (clientEnded) {
                ctx.read();
            }
            return;
        }
        lastActivity = System.nanoTime();
        if (msg instanceof Http2HeadersFrame headers) {
            if (!requestSeen) {
                onRequestHeaders(ctx, headers);
            } else {
                onTrailers(ctx, headers);
            }
        } else if (msg instanceof Http2DataFrame data) {
            onData(ctx, data);
        } else {
            // RST_STREAM from the client closes the child channel by itself; nothing else is for us.
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequestHeaders(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
        requestSeen = true;
        Http2Headers h2 = frame.headers();
        HttpRequest request = RequestFields.toRequest(h2.method(), h2.path(), h2.authority(), h2);
        if (request == null) {
            malformed(ctx, h2);
            return;
        }
        HttpHeaders headers = request.headers();
        declaredLength = RequestFields.contentLength(headers);
        CharSequence protocol = h2.get(PROTOCOL);
        if (!RequestFields.validScheme(h2.scheme()) && (protocol != null || !HttpMethod.CONNECT.equals(request.method()))) {
            // Section 8.3.1: every request but a plain CONNECT carries :scheme; one without is malformed
            // and must not be forwarded (it was, with the connection's own scheme in X-Forwarded-Proto).
            malformed(ctx, h2);
            return;
        }
        if (protocol != null) {
            if (!HttpMethod.CONNECT.equals(request.method()) || h2.path() == null || frame.isEndStream()) {
                malformed(ctx, h2);
                return;
            }
            if (HttpHeaderValues.WEBSOCKET.contentEqualsIgnoreCase(protocol)) {
                // A CONNECT has no content (RFC 9110 section 9.3.6): its DATA is the tunnel. A
                // Content-Length would go upstream on the GET below, which has no body, and leave
                // an upstream that refused the upgrade waiting for that many bytes of the next
                // request on its pooled connection.
                if (declaredLength >= 0) {
                    malformed(ctx, h2);
                    return;
                }
                // RFC 8441 section 5: the upstream gets the HTTP/1.1 opening handshake it knows.
                request.setMethod(HttpMethod.GET);
                headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
                headers.set(HttpHeaderNames.SEC_WEBSOCKET_KEY, RequestFields.newWebSocketKey());
                webSocketPending = true;
            }
        }
        if (webSocketPending) {
            // No HTTP body follows: the stream's DATA is the WebSocket once the upstream said 101.
            requestEnded = true;
            stopDeadlines();
            ctx.fireChannelRead(request);
            ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        if (frame.isEndStream()) {
            if (declaredLength > 0) {
                malformed(ctx, h2);
                return;
            }
            requestWhole(ctx);
            ctx.fireChannelRead(request);
            ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
            return;
        }
        if (declaredLength < 0) {
            // The body's length is unknown: it goes to an HTTP/1.1 upstream chunked.
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        // The codec opens a stream with its head complete: only the body's clock is left to run.
        deadlines = new StreamDeadlines(ctx, this, bodyTimeoutNanos, minBodyRate);
        if (declaredLength == 0) {
            // Complete already as far as an upstream can tell: it waits for END_STREAM (see heldHead).
            heldHead = request;
            heldFields = h2;
            ctx.read();
            return;
        }
        ctx.fireChannelRead(request);
    }

    /** Passes on what was held for END_STREAM, before the request's end. */
    private void releaseHeld(ChannelHandlerContext ctx) {
        if (heldHead != null) {
            HttpRequest head = heldHead;
            heldHead = null;
            heldFields = null;
            ctx.fireChannelRead(head);
        }
        if (heldData != null) {
            ByteBuf data = heldData;
            heldData = null;
            ctx.fireChannelRead(new DefaultHttpContent(data));
        }
    }

    /** Drops what was held: the stream ended without its request. */
    private void dropHeld() {
        heldHead = null;
        heldFields = null;
        if (heldData != null) {
            heldData.release();
            heldData = null;
        }
    }

    private void onData(ChannelHandlerContext ctx, Http2DataFrame frame) {
        ByteBuf content = frame.content();
        received += content.readableBytes();
        boolean end = frame.isEndStream();
        if (declaredLength >= 0 && (received > declaredLength || (end && received != declaredLength))) {
            frame.release();
            malformed(ctx, null);
            return;
        }
        if (content.isReadable()) {
            // Bytes came: the body's clock starts again with the exchange's next ask.
            deadlines.bytesReceived(content.readableBytes());
        }
        if (end) {
            requestWhole(ctx);
            releaseHeld(ctx);
            ctx.fireChannelRead(new DefaultLastHttpContent(content));
        } else if (content.isReadable() && received == declaredLength) {
            // The last declared byte: it waits for END_STREAM (see heldHead); the read asks for it.
            heldData = content;
            ctx.read();
        } else if (content.isReadable()) {
            ctx.fireChannelRead(new DefaultHttpContent(content));
        } else {
            frame.release();
            if (heldHead != null || heldData != null) {
                // An empty DATA without END_STREAM: what is held still waits, and nobody else reads.
                ctx.read();
            }
        }
    }

    private void onTrailers(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
        if (!frame.isEndStream() || (declaredLength >= 0 && received != declaredLength)) {
            malformed(ctx, null);
            return;
        }
        LastHttpContent last = RequestFields.trailers(frame.headers());
        if (last == null) {
            malformed(ctx, null);
            return;
        }
        requestWhole(ctx);
        releaseHeld(ctx);
        ctx.fireChannelRead(last);
    }

    private void stopDeadlines() {
        if (deadlines != null) {
            deadlines.stop();
        }
    }

    /** The request is whole, END_STREAM included: keep a read pending from now on (see {@link #clientEnded}). */
    private void requestWhole(ChannelHandlerContext ctx) {
        requestEnded = true;
        clientEnded = true;
        stopDeadlines();
        ctx.read();
    }

    /**
     * A stream error the codec found itself (DATA against content-length, a frame the stream's
     * state does not allow): {@link Http2StreamErrors} has reset the stream with its code and
     * counted it, and the multiplexer closes this channel, which ends the exchange. It goes no
     * further: the exchange handler would log the client's mistake as a server warning with a
     * stack trace, once per stream a client cares to send. A malformed request (PROTOCOL_ERROR)
     * is told to the exchange handler, for its access-log line.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2Exception e) {
            // Once the request is whole (or the response's end was written, which marks a stream
            // the client had not ended as reset), a PROTOCOL_ERROR is the failure of a write (say,
            // trailers over the client's SETTINGS_MAX_HEADER_LIST_SIZE), not a malformed request:
            // the stream is reset, nothing more is logged for it.
            if (e.error() == Http2Error.PROTOCOL_ERROR && !reset && !clientEnded) {
                reset = true;
                stopDeadlines();
                ctx.fireUserEventTriggered(MalformedStream.of(MALFORMED, null));
            }
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    /**
     * A stream error (RFC 9113 section 8.1.1): reset the stream; the exchange sees its client go.
     * The exchange handler hears of it first, for the access log.
     *
     * @param fields the request's fields when no exchange has them yet, else null
     */
    private void malformed(ChannelHandlerContext ctx, Http2Headers fields) {
        reset = true;
        stopDeadlines();
        if (heldHead != null && fields == null) {
            // The exchange never saw the held request: the access log gets its fields this way.
            fields = heldFields;
        }
        dropHeld();
        counters.count(Http2Counters.Reason.MALFORMED_REQUEST);
        ctx.fireUserEventTriggered(MalformedStream.of(MALFORMED, fields));
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR)).addListener(ChannelFutureListener.CLOSE);
    }

    // ---- the body's clock ----------------------------------------------------------------------

    /** The exchange asks for bytes: while the body is due, body_timeout runs from here. */
    @Override
    public void read(ChannelHandlerContext ctx) {
        if (requestSeen && !requestEnded && !reset && !faulted && deadlines != null) {
            deadlines.readRequested();
        }
        ctx.read();
    }

    /**
     * The body stopped coming: the exchange handler answers 408 (or resets the stream when its
     * response began), as HTTP/1.1 and HTTP/3 do; nothing more of the request is passed on.
     */
    @Override
    public void clientTimeout(String reason) {
        if (reset || requestEnded || faulted) {
            return;
        }
        faulted = true;
        ctx.fireUserEventTriggered(new ClientFault(HttpResponseStatus.REQUEST_TIMEOUT, reason));
    }

    /** WebSocket bytes from the client, for the relay; END_STREAM is the client's half-close. */
    private void readTunnel(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2DataFrame data) {
            boolean end = data.isEndStream();
            if (data.content().isReadable()) {
                ctx.fireChannelRead(data.content());
            } else {
                data.release();
            }
            if (end) {
                ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            }
            return;
        }
        ReferenceCountUtil.release(msg);
    }

    // ---- exchange → client ---------------------------------------------------------------------

    /**
     * A stream's frames are already in the connection's pipeline when it flushes. What a stream
     * wrote small since its last flush (under {@link #GATHERED_FLUSH_BYTES} of DATA: heads,
     * small bodies) goes out with one flush of the connection after this pass of the event loop,
     * with what its other streams wrote in it. Larger writes and tunnels flush at once: a
     * gathered flush shares the connection among all its streams' bodies, each finishing later
     * than in turn (p99 of 16 KiB responses under h2load 2.3x worse in a bench run).
     */
    @Override
    public void flush(ChannelHandlerContext ctx) {
        long unflushed = unflushedData;
        unflushedData = 0;
        boolean direct = unflushedDirect;
        unflushedDirect = false;
        if (tunnel || unflushed >= GATHERED_FLUSH_BYTES || !guard.flushSoon()) {
            if (direct) {
                // (What went through this channel is in the connection's pipeline too.)
                guard.flushDirect();
            } else {
                ctx.flush();
            }
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        lastActivity = System.nanoTime();
        if (tunnel) {
            writeTunnel(ctx, msg, promise);
            return;
        }
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
        if (code == 101 && webSocketPending) {
            // The upstream accepted: the extended CONNECT succeeds with 200 and the stream becomes the tunnel.
            response.headers().remove(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
            Http2Headers headers = ResponseFields.toHttp2(response);
            headers.status(HttpResponseStatus.OK.codeAsText());
            ReferenceCountUtil.release(response);
            webSocketPending = false;
            tunnel = true;
            // A relay that ends cleanly half-closes with END_STREAM; closing the stream would reset it.
            ctx.channel().attr(HalfClose.OUTPUT_END).set(END_STREAM);
            ctx.write(new DefaultHttp2HeadersFrame(headers, false), promise);
            return;
        }
        webSocketPending = false;
        // A new, editable set with :status (also for a head without fields, such as Portico's own 100 Continue).
        Http2Headers headers = ResponseFields.toHttp2(response);
        if (code < 200) {
            // 103 Early Hints and friends: a HEADERS frame of their own; their (empty) body parts are dropped.
            informational = !(response instanceof FullHttpResponse);
            ReferenceCountUtil.release(response);
            writeHeaders(ctx, headers, false, promise);
            return;
        }
        if (response instanceof FullHttpResponse full) {
            boolean bodyless = !full.content().isReadable() && full.trailingHeaders().isEmpty();
            if (bodyless) {
                full.release();
                writeHeaders(ctx, headers, true, endOfResponse(ctx, promise));
                return;
            }
            writeHeaders(ctx, headers, false, ctx.voidPromise());
            writeContent(ctx, full, promise);
            return;
        }
        writeHeaders(ctx, headers, false, promise);
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
        unflushedData += data.readableBytes();
        if (!last) {
            if (data.isReadable()) {
                ctx.write(new DefaultHttp2DataFrame(data, false), promise);
            } else {
                content.release();
                promise.trySuccess();
            }
            return;
        }
        HttpHeaders trailers = ((LastHttpContent) content).trailingHeaders();
        if (trailers.isEmpty()) {
            writeLastData(ctx, data, true, endOfResponse(ctx, promise));
            return;
        }
        if (data.isReadable()) {
            writeLastData(ctx, data, false, ctx.voidPromise());
        } else {
            content.release();
        }
        writeHeaders(ctx, ResponseFields.trailersToHttp2(trailers), true, endOfResponse(ctx, promise));
    }

    /**
     * Writes a HEADERS frame of this stream straight to the connection's encoder, as Netty's frame
     * codec would with the frame written to this channel, without the channel's write path: its
     * pipeline, a frame object, a promise and a listener of the connection's per frame, which
     * were a tenth of the CPU of small HTTP/2 responses. A HEADERS frame counts only 9 bytes
     * towards the channel's writability, so nothing the exchange watches changes. Otherwise (see
     * {@link #direct}) the frame goes through the channel.
     */
    private void writeHeaders(ChannelHandlerContext ctx, Http2Headers headers, boolean endStream,
                              ChannelPromise promise) {
        ChannelHandlerContext codec = direct(ctx, promise);
        if (codec != null) {
            guard.encoder().writeHeaders(codec, stream.id(), headers, 0, endStream, guard.quietVoidPromise());
        } else {
            ctx.write(new DefaultHttp2HeadersFrame(headers, endStream), promise);
        }
    }

    /**
     * Writes the response's last DATA frame straight to the connection's encoder (see
     * {@link #writeHeaders}). Only the last: a DATA frame written to the channel counts towards its
     * writability until it is out, which is how the exchange stops reading its upstream while a
     * client's window is shut; after the last one there is nothing more to hold back.
     */
    private void writeLastData(ChannelHandlerContext ctx, ByteBuf data, boolean endStream, ChannelPromise promise) {
        ChannelHandlerContext codec = direct(ctx, promise);
        if (codec != null) {
            guard.encoder().writeData(codec, stream.id(), data, 0, endStream, guard.quietVoidPromise());
        } else {
            ctx.write(new DefaultHttp2DataFrame(data, endStream), promise);
        }
    }

    /**
     * The codec's context when a frame can go straight to the encoder (the stream's next flush is
     * then the connection's), else null: the frame goes through the stream's channel, which keeps
     * what a direct write would not.
     * <ul>
     *   <li>A write with a promise goes through the channel: the channel completes it only after
     *       the stream has closed on its last frame, so a listener that closes the channel (the
     *       exchange's, after its own responses) closes a closed stream. Completed before, it
     *       would close an open one, which resets it with CANCEL after its END_STREAM.</li>
     *   <li>A stream that is not open for sending any more (the client reset it while frames it
     *       sent are still queued unread on the channel) leaves it to the channel to fail the
     *       write and close itself, as a direct write failing in silence would not.</li>
     *   <li>Until the guard is in the pipeline there is no codec context to write to.</li>
     * </ul>
     */
    private ChannelHandlerContext direct(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!promise.isVoid() || stream == null || !ctx.channel().isActive()) {
            return null;
        }
        Http2Stream.State state = stream.state();
        if (state != Http2Stream.State.OPEN && state != Http2Stream.State.HALF_CLOSED_REMOTE) {
            return null;
        }
        ChannelHandlerContext codec = guard.codecContext();
        unflushedDirect |= codec != null;
        return codec;
    }

    /**
     * The promise for the response's last frame, which ends the stream. When the client had ended
     * its side, that frame closes the stream and Netty its channel (a read is pending, see
     * {@link #clientEnded}): {@code promise} as it is, usually the exchange's void one. Otherwise
     * the stream is ended here once that frame has really left (DATA may wait for window), never
     * before it: a client still sending its request (say, a body Portico refused with 413, or an
     * extended CONNECT whose upstream said no) is asked to stop with RST_STREAM NO_ERROR (RFC 9113
     * section 8.1), so it keeps the response rather than see the CANCEL that closing the stream
     * would send; then the channel is closed, with whatever unread frames are queued on it.
     */
    private ChannelPromise endOfResponse(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (clientEnded) {
            return promise;
        }
        boolean stopClient = !reset;
        reset = true;
        stopDeadlines();
        ChannelPromise p = promise.unvoid();
        p.addListener(f -> {
            if (stopClient && f.isSuccess()) {
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.NO_ERROR), ctx.voidPromise());
            }
            ctx.close();
        });
        return p;
    }

    private static void writeTunnel(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf bytes) {
            ctx.write(new DefaultHttp2DataFrame(bytes, false), promise);
        } else if (msg instanceof HttpContent content) {
            // The end of the 101 "response" the exchange writes before the relay takes over.
            content.release();
            promise.trySuccess();
        } else {
            ctx.write(msg, promise);
        }
    }
}
