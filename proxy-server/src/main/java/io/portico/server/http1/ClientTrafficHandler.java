package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.portico.server.metrics.ListenerMetrics;

/**
 * First in a client connection's pipeline: counts the connection and the bytes on the wire (TLS
 * records included) into the listener's metrics. One shared instance per listener; it holds no
 * per-connection state and adds nothing but two striped counter adds per read or write.
 */
@ChannelHandler.Sharable
final class ClientTrafficHandler extends ChannelDuplexHandler {

    private final ListenerMetrics metrics;

    ClientTrafficHandler(ListenerMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.channel().attr(Http1ProxyHandler.ACCEPTED_AT).set(System.currentTimeMillis());
        metrics.connectionOpened();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        metrics.connectionClosed();
        ctx.fireChannelInactive();
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
