package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;


/**
 * One request/response on a multiplexed HTTP/2 upstream connection: the last handler of the
 * stream's child channel and the {@link UpstreamStream} an exchange holds.
 *
 * <p>Flow control, end to end (the stream channel has AUTO_READ off):
 * <pre>
 *  backend ──DATA──▶ [connection: reads freely] ──▶ stream channel's inbound queue (≤ stream window)
 *                                                        │  read() only while the client socket is writable
 *                                                        ▼
 *  client ◀── HTTP/1.1 encoder ◀── exchange ◀── Http2ClientStreamCodec ◀── frames delivered by read()
 *
 *  WINDOW_UPDATE for the stream is sent by the next read(): bytes the client has not taken are never
 *  acknowledged, so a backend gets at most one stream window ahead of a slow client; the connection
 *  window covers every stream window, so one stalled stream cannot hold up the others.
 *
 *  client ──body──▶ exchange ──▶ stream channel write ──▶ codec's remote flow controller ──DATA──▶ backend
 *  The stream channel turns unwritable while its frames wait for the backend's window (or the socket),
 *  and the exchange stops reading the client until it is writable again.
 * </pre>
 */
final class Http2UpstreamStream extends ChannelInboundHandlerAdapter implements UpstreamStream, ChannelFutureListener {

    private final Http2UpstreamConnection connection;
    private Http2StreamChannel channel;
    private UpstreamListener owner;
    private Throwable error;
    private boolean refused;
    /** Another stream on the connection had got its whole response before this one opened (see {@link #reused()}). */
    private boolean reused;
    /** The final (non-1xx) response head came, well-formed: the next last part ends the response. */
    private boolean finalHead;
    private final DeadlineWatch deadlines = new DeadlineWatch(() -> channel, () -> owner);

    Http2UpstreamStream(Http2UpstreamConnection connection) {
        this.connection = connection;
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public Backend backend() {
        return connection.pool().backend();
    }

    @Override
    public void attach(UpstreamListener listener) {
        owner = listener;
    }

    /** The stream ends with the response; closing it resets it only when it did not end cleanly. */
    @Override
    public void release(boolean reusable) {
        owner = null;
        channel.close();
    }

    @Override
    public void abort() {
        owner = null;
        channel.close();
    }

    /**
     * Whether another stream on the connection had got its whole response before this one was
     * opened: the connection had proved itself, as an HTTP/1.1 connection back from the pool has
     * ({@link UpstreamConnection#reused()}). A backend closing a connection in order says which
     * streams it handled (GOAWAY), and {@link #unprocessed()} covers the rest; one that vanishes
     * without a GOAWAY (a crash, a reset, a middlebox) leaves this stream's fate unknown, as a
     * keep-alive race does on HTTP/1.1, and an idempotent request on a connection that had proved
     * itself goes again on another (nginx's {@code proxy_next_upstream error}, which does the same
     * for HTTP/1.1). Streams opened together on a new connection, none answered yet, are not reused
     * whatever their order: the connection dying under them is the backend failing, not a race.
     */
    @Override
    public boolean reused() {
        return reused;
    }

    @Override
    public boolean unprocessed() {
        int id = channel.stream().id();
        return refused || !Http2CodecUtil.isStreamIdValid(id) || channel.stream().state() == Http2Stream.State.IDLE
                || id > connection.lastStreamId();
    }

    @Override
    public void watch(long deadlineNanos) {
        deadlines.watch(deadlineNanos);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = (Http2StreamChannel) ctx.channel();
        reused = connection.completed() > 0;
        connection.streamAdded();
        channel.closeFuture().addListener(this);
    }

    /** The stream channel closed: its slot on the connection is free. */
    @Override
    public void operationComplete(ChannelFuture future) {
        cancelWatchdog();
        connection.streamRemoved();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpResponse head && head.decoderResult().isSuccess()
                && head.status().code() >= 200) {
            finalHead = true;
        }
        if (msg instanceof LastHttpContent last && finalHead && last.decoderResult().isSuccess()) {
            // Counted before the exchange hears of it: ending this stream can open the next one at once.
            connection.streamCompleted();
        }
        UpstreamListener listener = owner;
        if (listener != null && msg instanceof HttpObject http) {
            listener.onUpstreamMessage(this, http);
            return;
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamListener listener = owner;
        if (listener != null) {
            listener.onUpstreamReadComplete(this);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamListener listener = owner;
        if (listener != null) {
            listener.onUpstreamWritabilityChanged(this);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2ResetFrame reset && reset.errorCode() == Http2Error.REFUSED_STREAM.code()) {
            refused = true;
        }
        ReferenceCountUtil.release(evt);
    }

    /**
     * Errors are passed on from channelInactive, which the stream channel fires later: a write that
     * fails inside the exchange's own call (a stream the connection can no longer create) must not
     * re-enter the exchange.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (error == null) {
            error = cause;
        }
        Http2Exception h2 = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
        if (h2 != null && h2.error() == Http2Error.REFUSED_STREAM) {
            // Our own codec refused to open the stream (the backend's stream limit): nothing was sent.
            refused = true;
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelWatchdog();
        UpstreamListener listener = owner;
        owner = null;
        if (listener == null) {
            return;
        }
        if (error != null) {
            listener.onUpstreamError(this, error);
        } else {
            listener.onUpstreamClosed(this);
        }
    }

    private void cancelWatchdog() {
        deadlines.cancel();
    }
}
