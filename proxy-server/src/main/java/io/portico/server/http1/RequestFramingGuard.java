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
 * not into the HTTP framing. An h2c upgrade happens while this guard passes the request on: the
 * bytes the decoder had read past the request ({@link #holdFirst}), then those from the bad byte
 * on, follow it once the new handlers are in place. A WebSocket's waits for the upstream's 101:
 * when the request being answered asked for one ({@link #expectUpgrade}), the bytes from the bad
 * byte on are held, one read's worth, and go on when the switch takes the HTTP handlers out (this
 * one last, after the decoder and what it holds). Otherwise they are released at once; and a
 * connection that switches after bytes were dropped (reads after the bad byte, or a bad byte
 * before the upgrade was asked for) is closed rather than carry a stream with a hole in it.
 */
final class RequestFramingGuard extends FramingGuard {

    /** Bytes for the protocol the connection may switch to, in order. */
    private ByteBuf held;
    /** Bytes after the bad byte were dropped: what is held is not all the client sent. */
    private boolean lost;
    /** The request being answered asked for a WebSocket: bytes behind it may be the relay's. */
    private boolean upgradeExpected;

    RequestFramingGuard() {
        super(Http1FramingScanner.forRequests());
    }

    /**
     * Bytes the decoder read past an upgrade request as it leaves for the new protocol: they come
     * before any this guard holds.
     */
    void holdFirst(ByteBuf leftover) {
        held = joined(leftover, held);
    }

    private static ByteBuf joined(ByteBuf first, ByteBuf then) {
        return first == null ? then : then == null ? first : Unpooled.wrappedBuffer(first, then);
    }

    /** The request being answered asked for a WebSocket upgrade (see the class comment). */
    void expectUpgrade() {
        upgradeExpected = true;
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
        held = joined(held, rest);
        if (switched(ctx)) {
            return;
        }
        if (!upgradeExpected) {
            // Most likely garbage, or a smuggling attempt: not kept while the request before it is answered.
            held.release();
            held = null;
            lost = true;
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
        boolean active = ctx.channel().isActive();
        if (reading() && active) {
            // Taken out while passing a read on (an h2c upgrade): the new handlers are not in yet;
            // what is held goes once the read is through (switched).
            return;
        }
        ByteBuf bytes = held;
        held = null;
        if (!active || lost) {
            if (bytes != null) {
                bytes.release();
            }
            if (active) {
                ctx.channel().close();
            }
        } else if (bytes != null) {
            ctx.fireChannelRead(bytes);
        }
    }
}
