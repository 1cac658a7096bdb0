package io.portico.server.demo;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/**
 * Sends every text, binary and continuation frame back as it came (pings are answered by Netty).
 * The text message {@code send-bytes:N} is answered with a binary message of N bytes instead.
 */
@ChannelHandler.Sharable
final class DemoEchoHandler extends SimpleChannelInboundHandler<WebSocketFrame> {

    private static final int MAX_GENERATED = 64 << 20;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
        if (frame instanceof TextWebSocketFrame text && frame.isFinalFragment()
                && text.text().startsWith("send-bytes:")) {
            int n;
            try {
                n = Math.min(MAX_GENERATED, Math.max(0, Integer.parseInt(text.text().substring(11).trim())));
            } catch (NumberFormatException e) {
                n = 0;
            }
            ctx.writeAndFlush(new BinaryWebSocketFrame(ctx.alloc().buffer(n).writeZero(n)));
            return;
        }
        if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame
                || frame instanceof ContinuationWebSocketFrame) {
            ctx.writeAndFlush(frame.retain());
        }
    }
}
