package io.portico.websocket;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A test proxy on loopback sockets: accepts a client, connects to an upstream server on the
 * client channel's event loop, and hands both channels to {@link WebSocketRelay#start} (no HTTP
 * handshake: the relay does not care how the connection was upgraded). Counts the largest buffer
 * the proxy allocates and the most bytes it ever had queued for writing on one connection.
 */
final class RelayHarness implements AutoCloseable {

    final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final TrackingAllocator allocator = new TrackingAllocator();
    final AtomicLong peakPending = new AtomicLong();
    final AtomicInteger onCloseRuns = new AtomicInteger();
    final BlockingQueue<Channel> proxyClientSides = new LinkedBlockingQueue<>();
    final BlockingQueue<Channel> proxyUpstreamSides = new LinkedBlockingQueue<>();
    private final Channel upstreamServer;
    private final Channel proxyServer;
    private final PendingProbe probe = new PendingProbe();

    RelayHarness(WebSocketRelay.Mode mode, RelayLimits limits, boolean deflate, boolean upstreamAutoRead,
                 Consumer<Channel> upstreamInit) {
        upstreamServer = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                // A small fixed receive window (no autotuning) so that an upstream that stops reading
                // pushes back on the relay after a few hundred KiB, not tens of MiB.
                .option(ChannelOption.SO_RCVBUF, 64 << 10)
                .childOption(ChannelOption.AUTO_READ, upstreamAutoRead)
                .childHandler(initializer(upstreamInit))
                .bind(InetAddress.getLoopbackAddress(), 0).syncUninterruptibly().channel();
        SocketAddress upstreamAddress = upstreamServer.localAddress();
        proxyServer = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOCATOR, allocator)
                .childHandler(initializer(client -> {
                    client.pipeline().addLast(probe);
                    proxyClientSides.add(client);
                    new Bootstrap()
                            .group(client.eventLoop())
                            .channel(NioSocketChannel.class)
                            .option(ChannelOption.AUTO_READ, false)
                            .option(ChannelOption.ALLOCATOR, allocator)
                            .handler(probe)
                            .connect(upstreamAddress)
                            .addListener((ChannelFuture connected) -> {
                                if (!connected.isSuccess()) {
                                    client.close();
                                    return;
                                }
                                proxyUpstreamSides.add(connected.channel());
                                WebSocketRelay.start(client, connected.channel(), mode, limits, deflate,
                                        onCloseRuns::incrementAndGet);
                            });
                }))
                .bind(InetAddress.getLoopbackAddress(), 0).syncUninterruptibly().channel();
    }

    /** Connects a client to the proxy. */
    Channel connect(Consumer<Channel> clientInit) {
        return connect(clientInit, true);
    }

    /** Connects a client to the proxy, reading or not; its receive window is small, as the upstream's. */
    Channel connect(Consumer<Channel> clientInit, boolean autoRead) {
        return new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.SO_RCVBUF, 64 << 10)
                .option(ChannelOption.AUTO_READ, autoRead)
                .handler(initializer(clientInit))
                .connect(proxyAddress()).syncUninterruptibly().channel();
    }

    InetSocketAddress proxyAddress() {
        return (InetSocketAddress) proxyServer.localAddress();
    }

    Channel proxyClientSide() throws InterruptedException {
        Channel channel = proxyClientSides.poll(10, TimeUnit.SECONDS);
        assertThat(channel).isNotNull();
        proxyClientSides.add(channel);
        return channel;
    }

    Channel proxyUpstreamSide() throws InterruptedException {
        Channel channel = proxyUpstreamSides.poll(10, TimeUnit.SECONDS);
        assertThat(channel).isNotNull();
        proxyUpstreamSides.add(channel);
        return channel;
    }

    @Override
    public void close() {
        proxyServer.close().syncUninterruptibly();
        upstreamServer.close().syncUninterruptibly();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static ChannelInitializer<Channel> initializer(Consumer<Channel> init) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                init.accept(ch);
            }
        };
    }

    /** Sits next to the socket and notes how many bytes wait to be written after each write. */
    @ChannelHandler.Sharable
    private final class PendingProbe extends ChannelOutboundHandlerAdapter {
        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ctx.write(msg, promise);
            ChannelOutboundBuffer buffer = ctx.channel().unsafe().outboundBuffer();
            if (buffer != null) {
                peakPending.accumulateAndGet(buffer.totalPendingWriteBytes(), Math::max);
            }
        }
    }
}
