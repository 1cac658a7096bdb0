package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.portico.server.limits.ReadGate;
import io.portico.server.metrics.ListenerMetrics;
import io.portico.tls.ServerTls;

/**
 * First in a client connection's pipeline: counts the connection and the bytes on the wire (TLS
 * records included) into the listener's metrics, registers the connection with the server's
 * lifecycle (shutdown and the listener's drain see it) while it is open, and is the connection's
 * gate of the buffer memory budget ({@link ReadGate}). One handler for all of these, as every
 * connection has them: an idle connection pays for one pipeline entry, a read or write for one hop.
 */
final class ClientTrafficHandler extends ReadGate {

    private final ListenerContext context;
    private final ListenerMetrics metrics;

    ClientTrafficHandler(ListenerContext context) {
        super(context.bufferBudget());
        this.context = context;
        this.metrics = context.metrics();
    }

    ListenerContext context() {
        return context;
    }

    /** File bytes a {@link BodyFileRegion} put into (positive) or took out of (negative) the output buffer. */
    void fileBytesChanged(long delta) {
        fileBytes(delta);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ServerTls tls = context.tls();
        if (tls != null && !(tls.defaultContext() instanceof ReferenceCountedOpenSslContext)) {
            // The JDK's engine has no "resumed" flag, so a handshake's session is compared with this
            // (OpenSSL's engine has one); the attribute would cost every other connection about 64
            // bytes it never uses.
            ctx.channel().attr(Http1ProxyHandler.ACCEPTED_AT).set(System.currentTimeMillis());
        }
        metrics.connectionOpened();
        context.lifecycle().connectionOpened(ctx.channel(), this);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        metrics.connectionClosed();
        context.lifecycle().connectionClosed(ctx.channel());
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
            if (f instanceof BodyFileRegion body) {
                body.chargeTo(this);
            }
        }
        ctx.write(msg, promise);
    }
}
