package io.portico.server.l4;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The backend end of a {@link TcpRelay}: hands the backend channel's events to the relay. One per
 * relay, shared by the backend connections it tries in turn (the relay ignores all but the current).
 */
@ChannelHandler.Sharable
final class UpstreamSide extends ChannelInboundHandlerAdapter {

    private final TcpRelay relay;

    UpstreamSide(TcpRelay relay) {
        this.relay = relay;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        relay.upstreamRead(ctx.channel(), msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        relay.upstreamReadComplete(ctx.channel());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        relay.upstreamWritabilityChanged(ctx.channel());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            relay.upstreamInputShutdown(ctx.channel());
        } else {
            ReferenceCountUtil.release(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        relay.upstreamInactive(ctx.channel());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        relay.upstreamError(ctx.channel(), cause);
        ctx.close();
    }
}
