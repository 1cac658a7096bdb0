package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.portico.http.FramingGuard;
import io.portico.http.Http1FramingScanner;

/**
 * Sits in front of the HTTP decoder and lets through only bytes whose framing is strictly valid
 * ({@link Http1FramingScanner}). At the first bad byte the bytes before it still go on (earlier
 * pipelined requests are fine), nothing after it does, and a {@link ClientFault} 400 tells the
 * proxy handler to answer and close: a request the decoder would have read leniently is never
 * completed upstream.
 *
 * <p>Unless the connection switches to another protocol: bytes a client sent right behind an
 * upgrade request (its HTTP/2 preface behind {@code Upgrade: h2c}, WebSocket frames behind a
 * handshake, without waiting for the 101) are the new protocol's, and go to its handlers in order,
 * not into the HTTP framing. This guard holds them: those the decoder had read past the request
 * ({@link #holdFirst}), then those from the bad byte on. An h2c upgrade happens while this guard
 * passes the request on, and they follow it once the new handlers are in place; a WebSocket's
 * waits for the upstream's 101, and they go on when the switch takes the HTTP handlers out, this
 * one last. One read's worth at most: reads after the bad byte are dropped, and if any was, the
 * switched connection is closed rather than carry a stream with a hole in it. If the connection
 * stays HTTP they are released with it.
 */
final class RequestFramingGuard extends FramingGuard {

    /** Bytes for the protocol the connection may switch to, in order. */
    private ByteBuf held;
    /** A read after the bad byte was dropped: what is held is not all the client sent. */
    private boolean lost;

    RequestFramingGuard() {
        super(Http1FramingScanner.forRequests());
    }

    /**
     * Bytes the decoder read past an upgrade request as it leaves for the new protocol: they come
     * before any this guard holds.
     */
    void holdFirst(ByteBuf leftover) {
        held = held == null ? leftover : Unpooled.wrappedBuffer(leftover, held);
    }

    @Override
    protected void onBadByte(ChannelHandlerContext ctx, ByteBuf buf, int bad) {
        ByteBuf rest = buf.retainedSlice(bad, buf.writerIndex() - bad);
        if (bad > buf.readerIndex()) {
            buf.writerIndex(bad);
            ctx.fireChannelRead(buf);
        } else {
            buf.release();
        }
        held = held == null ? rest : Unpooled.wrappedBuffer(held, rest);
        if (switched(ctx)) {
            return;
        }
        ctx.fireUserEventTriggered(new ClientFault(HttpResponseStatus.BAD_REQUEST, scanner.error()));
    }

    @Override
    protected void afterPassing(ChannelHandlerContext ctx) {
        switched(ctx);
    }

    /** Whether what went on switched the connection (h2c): then what is held goes to the new handlers. */
    private boolean switched(ChannelHandlerContext ctx) {
        if (!ctx.isRemoved()) {
            return false;
        }
        ByteBuf bytes = held;
        held = null;
        if (bytes != null) {
            if (ctx.channel().isActive()) {
                ctx.fireChannelRead(bytes);
            } else {
                bytes.release();
            }
        }
        return true;
    }

    @Override
    protected void droppedAfterFailure() {
        lost = true;
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (held == null || reading() && ctx.channel().isActive()) {
            // Taken out while passing a read on (an h2c upgrade): the new handlers are not in yet;
            // what is held goes once the read is through (switched).
            return;
        }
        ByteBuf bytes = held;
        held = null;
        if (!ctx.channel().isActive()) {
            bytes.release();
        } else if (lost) {
            bytes.release();
            ctx.channel().close();
        } else {
            ctx.fireChannelRead(bytes);
        }
    }
}
