package io.portico.loadtests.ws;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;

import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Idle sockets, for memory per idle WebSocket: opens COUNT WebSockets, each with one verified
 * echo, prints {@code ready N}, holds them open and silent until stdin closes, then prints
 * {@code closed alive=N} (how many were still open) and closes them. The same protocol as
 * {@code idle_connections.py} of the idle suite.
 */
final class IdleSockets {

    private IdleSockets() {
    }

    static int run(URI uri, int count) throws Exception {
        EventLoopGroup loop = Transport.oneLoop();
        try {
            List<Holder> held = Sockets.open(loop, uri, count, Holder::new);
            System.out.println("ready " + held.size());
            System.out.flush();
            InputStream in = System.in;
            byte[] sink = new byte[256];
            while (in.read(sink) >= 0) {
                // Wait for the end of stdin: bin/bench closes it when it has read the memory.
            }
            int alive = loop.submit(() -> (int) held.stream().filter(h -> h.channel().isActive()).count()).get();
            System.out.println("closed alive=" + alive);
            System.out.flush();
            Sockets.closeAll(held);
            return held.size() == count && alive == count ? 0 : 1;
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Sends nothing after its first verified echo. */
    private static final class Holder extends SocketHandler {

        Holder(int id) {
            super(id, 32);
        }

        @Override
        void echoed(ChannelHandlerContext ctx, long latencyNanos) {
            // Only the first echo is expected; it completes ready().
        }

        @Override
        void mismatched(ChannelHandlerContext ctx) {
            // ready() fails with the mismatch and the socket closes; Sockets.open reports it.
        }
    }
}
