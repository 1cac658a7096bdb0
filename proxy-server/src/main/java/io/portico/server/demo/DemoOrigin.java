package io.portico.server.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.portico.server.config.DemoOriginConfig;

import java.net.InetSocketAddress;

/**
 * A small origin on loopback for the default config: a welcome page, a JSON endpoint, an echo of
 * the request, chosen status codes, delays, sized bodies, and a WebSocket echo on {@code /ws}
 * (with a page that uses it on {@code /ws.html}). It runs on Portico's own event loops.
 */
public final class DemoOrigin implements AutoCloseable {

    private final Channel channel;

    private DemoOrigin(Channel channel) {
        this.channel = channel;
    }

    public static DemoOrigin start(DemoOriginConfig config, EventLoopGroup group,
                                   Class<? extends io.netty.channel.ServerChannel> channelClass) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(channelClass)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline()
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new HttpObjectAggregator(1 << 20))
                                .addLast(new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                                        .websocketPath("/ws").maxFramePayloadLength(16 << 20).allowExtensions(false)
                                        .checkStartsWith(false).build()))
                                .addLast(new DemoEchoHandler())
                                .addLast(new DemoOriginHandler());
                    }
                });
        Channel ch = b.bind(config.address().toResolved()).sync().channel();
        return new DemoOrigin(ch);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
    }
}
