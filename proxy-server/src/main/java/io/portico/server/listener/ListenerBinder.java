package io.portico.server.listener;

import io.netty.bootstrap.AbstractBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.MultithreadEventExecutorGroup;
import io.portico.server.config.ListenerConfig;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** Binds a listener's server sockets at startup. */
public final class ListenerBinder {

    private ListenerBinder() {
    }

    /**
     * Binds {@code c.address()} with a bootstrap (a server's, or a datagram one for UDP) that already has its group, channel class,
     * handlers and {@link ListenerSockets#applyServerOptions options}. With {@code reuse_port} on a
     * transport that supports it, binds one socket per event loop of {@code workers} on the same
     * port, so the kernel spreads incoming connections across loops instead of one loop accepting
     * for all; port 0 picks a free port for the first socket and the rest share it.
     *
     * <p>Blocks until bound, so call it at startup and never from an event loop.
     *
     * @throws ListenerBindException when a socket cannot be bound; any already bound are closed
     */
    public static BoundListener bind(AbstractBootstrap<?, ?> configured, ListenerConfig c, Transport t, EventLoopGroup workers) {
        int sockets = c.reusePort() && t.supportsReusePort() ? executorCount(workers) : 1;
        return bind(configured, c.name(), c.address().toResolved(), sockets);
    }

    /**
     * Binds {@code sockets} sockets on {@code address} (port 0: a free port for the first, the rest
     * share it), as {@link #bind(AbstractBootstrap, ListenerConfig, Transport, EventLoopGroup)} does.
     *
     * @throws ListenerBindException when a socket cannot be bound; any already bound are closed
     */
    public static BoundListener bind(AbstractBootstrap<?, ?> configured, String name, InetSocketAddress address,
                                     int sockets) {
        List<Channel> channels = new ArrayList<>(sockets);
        try {
            Channel first = bindOne(configured, name, address);
            channels.add(first);
            address = (InetSocketAddress) first.localAddress();
            for (int i = 1; i < sockets; i++) {
                channels.add(bindOne(configured, name, address));
            }
        } catch (RuntimeException e) {
            for (Channel ch : channels) {
                ch.close().awaitUninterruptibly();
            }
            throw e;
        }
        return new BoundListener(name, address, channels);
    }

    private static Channel bindOne(AbstractBootstrap<?, ?> b, String name, InetSocketAddress address) {
        ChannelFuture f = b.bind(address).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new ListenerBindException(name, address, f.cause());
        }
        return f.channel();
    }

    /** Event loops in {@code group}: the socket count of a {@code reuse_port} listener. */
    public static int executorCount(EventLoopGroup group) {
        if (group instanceof MultithreadEventExecutorGroup m) {
            return m.executorCount();
        }
        int n = 0;
        for (EventExecutor ignored : group) {
            n++;
        }
        return Math.max(1, n);
    }
}
