package io.portico.server.http3;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.quic.QuicStreamFrame;
import io.portico.server.http1.ServerLifecycle;
import io.portico.server.limits.BufferBudget;
import io.portico.server.limits.ReadGate;

/**
 * First handler of an HTTP/3 request stream (before Netty's HTTP/3 codec): the stream's gate of the
 * buffer memory budget, as a TCP connection's first handler is. Under pressure the stream's reads
 * wait (its request, or the rest of its body, stays in QUIC's flow-control window), and the bytes
 * it holds count: a QUIC stream has no output buffer of Netty's, and what the exchange writes
 * past the stream's capacity waits in the channel's own queue until QUIC takes it, so this gate
 * counts the bytes of writes not yet taken. (What QUIC has taken is bounded by the congestion
 * window and the client's flow control, as a TCP socket's kernel buffer is by its size.)
 */
final class Http3StreamGate extends ReadGate {

    private final ServerLifecycle lifecycle;
    /** Bytes written and not yet taken by QUIC; written on the event loop, read by the sampler. */
    private volatile long queued;

    Http3StreamGate(BufferBudget budget, ServerLifecycle lifecycle) {
        super(budget);
        this.lifecycle = lifecycle;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        super.handlerAdded(ctx);
        lifecycle.streamGateOpened(this);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        lifecycle.streamGateClosed(this);
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
        lifecycle.streamGateClosed(this);
        super.handlerRemoved(ctx);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        long n = msg instanceof ByteBuf b ? b.readableBytes()
                : msg instanceof QuicStreamFrame f ? f.content().readableBytes() : 0;
        if (n == 0) {
            ctx.write(msg, promise);
            return;
        }
        // A void promise cannot say when QUIC took the bytes; its replacement fires failures as it would.
        ChannelPromise p = promise.unvoid();
        ctx.write(msg, p);
        if (!p.isDone()) {
            // Queued: the stream had no capacity left for it.
            queued += n;
            p.addListener(f -> queued -= n);
        }
    }

    @Override
    protected long pendingBytes() {
        return queued;
    }
}
