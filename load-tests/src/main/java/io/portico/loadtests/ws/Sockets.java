package io.portico.loadtests.ws;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/** Opens many WebSocket client connections on one event loop, a bounded number of handshakes at a time. */
final class Sockets {

    /** Handshakes in flight at once: enough to open 10,000 sockets in seconds, few enough for a backlog of 4096. */
    private static final int PARALLEL = 200;

    private Sockets() {
    }

    /**
     * Opens COUNT sockets to URI, each with the handler FACTORY makes for its index, and waits until
     * each handler's {@link SocketHandler#ready()} is done. Returns the handlers of the sockets that
     * came up; the number that failed is the list's shortfall.
     */
    static <H extends SocketHandler> List<H> open(EventLoopGroup loop, URI uri, int count, IntFunction<H> factory)
            throws InterruptedException {
        WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
                .webSocketUri(uri)
                .handshakeTimeoutMillis(30_000)
                .maxFramePayloadLength(1 << 20)
                .build();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(Transport.socket())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000);
        int port = uri.getPort();
        Semaphore slots = new Semaphore(PARALLEL);
        List<H> handlers = new ArrayList<>(count);
        List<CompletableFuture<Void>> ready = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            slots.acquire();
            H handler = factory.apply(i);
            handlers.add(handler);
            ready.add(handler.ready());
            handler.ready().whenComplete((ok, failure) -> slots.release());
            bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                            new WebSocketClientProtocolHandler(config), handler);
                }
            }).connect(uri.getHost(), port).addListener(f -> {
                if (!f.isSuccess()) {
                    handler.fail(f.cause());
                }
            });
        }
        List<H> up = new ArrayList<>(count);
        int failed = 0;
        Throwable first = null;
        for (int i = 0; i < count; i++) {
            try {
                ready.get(i).get(60, TimeUnit.SECONDS);
                up.add(handlers.get(i));
            } catch (Exception e) {
                failed++;
                if (first == null) {
                    first = e.getCause() != null ? e.getCause() : e;
                }
            }
        }
        if (failed > 0) {
            System.err.println("wsbench: " + failed + " of " + count + " sockets did not come up; the first: " + first);
        }
        return up;
    }

    /** Closes every socket with a close frame (1000) and waits up to 5 s for the close handshakes. */
    static void closeAll(List<? extends SocketHandler> handlers) throws InterruptedException {
        for (SocketHandler h : handlers) {
            h.closeNormally();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (SocketHandler h : handlers) {
            Channel ch = h.channel();
            long left = deadline - System.nanoTime();
            if (ch != null && left > 0) {
                ch.closeFuture().await(left, TimeUnit.NANOSECONDS);
            }
            if (ch != null) {
                ch.close();
            }
        }
    }
}
