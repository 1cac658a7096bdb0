package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.portico.server.limits.BufferBudget;
import io.portico.server.limits.ReadGate;
import io.portico.server.metrics.ListenerMetrics;

/**
 * First in a client connection's pipeline: counts the connection and the bytes on the wire (TLS
 * records included) into the listener's metrics, and is the connection's gate of the buffer
 * memory budget ({@link ReadGate}). One handler for both, as every connection has both: an idle
 * connection pays for one pipeline entry, a read or write for one hop.
 */
final class ClientTrafficHandler extends ReadGate {

    private final ListenerMetrics metrics;
    private final boolean recordAccepted;

    /**
     * @param recordAccepted whether to note when the connection was accepted (TLS listeners: the JDK's
     *                       engine has no "resumed" flag, so a handshake's session is compared with it);
     *                       the attribute would cost a plain connection 64 bytes it never uses
     */
    ClientTrafficHandler(BufferBudget budget, ListenerMetrics metrics, boolean recordAccepted) {
        super(budget);
        this.metrics = metrics;
        this.recordAccepted = recordAccepted;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (recordAccepted) {
            ctx.channel().attr(Http1ProxyHandler.ACCEPTED_AT).set(System.currentTimeMillis());
        }
        metrics.connectionOpened();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        metrics.connectionClosed();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b) {
            metrics.bytesIn(b.readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf b) {
            metrics.bytesOut(b.readableBytes());
        } else if (msg instanceof ByteBufHolder h) {
            metrics.bytesOut(h.content().readableBytes());
        } else if (msg instanceof FileRegion f) {
            metrics.bytesOut(f.count());
        }
        ctx.write(msg, promise);
    }
}
