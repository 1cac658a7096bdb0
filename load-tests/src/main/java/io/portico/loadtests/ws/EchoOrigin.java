package io.portico.loadtests.ws;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;

/**
 * A WebSocket echo origin on one event loop: any path upgrades, every data frame goes back as it
 * came (Netty's protocol handler answers pings and the close handshake). Prints
 * {@code listening PORT} once bound and runs until killed.
 */
final class EchoOrigin {

    private EchoOrigin() {
    }

    static void run(int port) throws InterruptedException {
        EventLoopGroup loop = Transport.oneLoop();
        WebSocketServerProtocolConfig ws = WebSocketServerProtocolConfig.newBuilder()
                .websocketPath("/")
                .checkStartsWith(true)
                .maxFramePayloadLength(1 << 20)
                .build();
        try {
            new ServerBootstrap()
                    .group(loop)
                    .channel(Transport.serverSocket())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192),
                                    new WebSocketServerProtocolHandler(ws), Echo.INSTANCE);
                        }
                    })
                    .bind("127.0.0.1", port).sync();
            System.out.println("listening " + port + (Transport.EPOLL ? " (epoll)" : " (nio)"));
            System.out.flush();
            loop.terminationFuture().sync();
        } finally {
            loop.shutdownGracefully();
        }
    }

    /** Writes each data frame back; flushes once per read batch. */
    @Sharable
    private static final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {

        static final Echo INSTANCE = new Echo();

        private Echo() {
            super(false);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame
                    || frame instanceof ContinuationWebSocketFrame) {
                // The frame is handed on to the write, which releases it.
                ctx.write(frame);
            } else {
                frame.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
