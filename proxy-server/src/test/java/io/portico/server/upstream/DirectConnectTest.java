package io.portico.server.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Connecting from an event loop: started in the same call, not from the loop's task queue. */
class DirectConnectTest {

    private static EventLoopGroup group;
    private static ServerSocket server;

    @BeforeAll
    static void start() throws IOException {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    @AfterAll
    static void stop() throws IOException {
        server.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A bootstrap on {@code loop} whose pipeline notes when the connect reaches it. */
    private static Bootstrap bootstrap(EventLoop loop, AtomicBoolean connectIssued) {
        return new Bootstrap().group(loop).channel(NioSocketChannel.class).handler(new ChannelOutboundHandlerAdapter() {
            @Override
            public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local,
                                ChannelPromise promise) {
                connectIssued.set(true);
                ctx.connect(remote, local, promise);
            }
        });
    }

    /** Runs {@code connect} on the loop and says whether the connect had started when it returned. */
    private static boolean startedWithinTheCall(boolean direct, SocketAddress remote) throws Exception {
        EventLoop loop = group.next();
        AtomicBoolean issued = new AtomicBoolean();
        Bootstrap b = bootstrap(loop, issued);
        ChannelFuture[] f = new ChannelFuture[1];
        boolean started = loop.submit(() -> {
            f[0] = direct ? DirectConnect.connect(b, remote) : b.connect(remote);
            return issued.get();
        }).get(10, TimeUnit.SECONDS);
        assertTrue(f[0].await(10, TimeUnit.SECONDS), "the connect finished");
        assertTrue(f[0].isSuccess(), () -> "connected: " + f[0].cause());
        f[0].channel().close().syncUninterruptibly();
        return started;
    }

    @Test
    void theConnectStartsWithinTheCallThatAsksForIt() throws Exception {
        InetSocketAddress address = (InetSocketAddress) server.getLocalSocketAddress();
        // Bootstrap defers it to a task, which on a busy io_uring loop waits out the whole I/O pass.
        assertFalse(startedWithinTheCall(false, address), "Bootstrap.connect queues the connect");
        assertTrue(startedWithinTheCall(true, address), "DirectConnect starts it at once");
        try (Socket accepted = server.accept(); Socket second = server.accept()) {
            assertTrue(accepted.isConnected() && second.isConnected());
        }
    }

    @Test
    void aNameStillToBeResolvedGoesThroughTheResolver() throws Exception {
        InetSocketAddress unresolved = InetSocketAddress.createUnresolved("localhost", server.getLocalPort());
        EventLoop loop = group.next();
        ChannelFuture f = loop.submit(() -> DirectConnect.connect(bootstrap(loop, new AtomicBoolean()), unresolved))
                .get(10, TimeUnit.SECONDS);
        assertTrue(f.await(10, TimeUnit.SECONDS) && f.isSuccess(), () -> "connected: " + f.cause());
        f.channel().close().syncUninterruptibly();
        server.accept().close();
    }

    @Test
    void aRefusedConnectFailsTheFuture() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        EventLoop loop = group.next();
        InetSocketAddress nowhere = new InetSocketAddress(InetAddress.getLoopbackAddress(), closedPort);
        ChannelFuture f = loop.submit(() -> DirectConnect.connect(bootstrap(loop, new AtomicBoolean()), nowhere))
                .get(10, TimeUnit.SECONDS);
        assertTrue(f.await(10, TimeUnit.SECONDS), "the connect finished");
        assertFalse(f.isSuccess(), "nothing listens there");
        assertFalse(f.channel().isOpen(), "the failed channel is closed");
    }

    /**
     * On io_uring a refused connect completes later, and Netty fails the future but leaves the
     * socket open (it closes it only through the listener {@link Bootstrap#connect} adds). The pools
     * count a connection until its channel closes, so each such socket would hold a descriptor and a
     * slot of max_connections for good.
     */
    @Test
    void aRefusedConnectClosesTheSocketOnIoUring() throws Exception {
        assumeTrue(IoUring.isAvailable(), "io_uring is unavailable here");
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        EventLoopGroup uring = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        try {
            EventLoop loop = uring.next();
            Bootstrap b = new Bootstrap().group(loop).channel(IoUringSocketChannel.class)
                    .handler(new ChannelOutboundHandlerAdapter());
            InetSocketAddress nowhere = new InetSocketAddress(InetAddress.getLoopbackAddress(), closedPort);
            ChannelFuture f = loop.submit(() -> DirectConnect.connect(b, nowhere)).get(10, TimeUnit.SECONDS);
            assertTrue(f.await(10, TimeUnit.SECONDS), "the connect finished");
            assertFalse(f.isSuccess(), "nothing listens there");
            assertTrue(f.channel().closeFuture().await(10, TimeUnit.SECONDS), "the failed channel is closed");
        } finally {
            uring.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
