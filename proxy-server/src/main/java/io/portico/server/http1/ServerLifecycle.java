package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a graceful shutdown needs to see across all listeners: the open client connections, the
 * requests in flight, and whether draining has begun (responses then carry {@code Connection: close}).
 */
public final class ServerLifecycle {

    /** Fired on every client channel when draining starts; idle connections close at once. */
    public static final Object DRAIN = new Object() {
        @Override
        public String toString() {
            return "DRAIN";
        }
    };

    private final ChannelGroup clients = new DefaultChannelGroup("portico-clients", GlobalEventExecutor.INSTANCE);
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;

    /** Counts {@code ch} among the client connections that shutdown drains and closes. */
    public void connectionOpened(Channel ch) {
        clients.add(ch);
    }

    void requestStarted() {
        inFlight.incrementAndGet();
    }

    void requestEnded() {
        inFlight.decrementAndGet();
    }

    public boolean draining() {
        return draining;
    }

    /** Starts draining: new responses close their connection, idle connections close now. */
    public void startDraining() {
        draining = true;
        for (Channel ch : clients) {
            ch.pipeline().fireUserEventTriggered(DRAIN);
        }
    }

    public int inFlight() {
        return inFlight.get();
    }

    public int openConnections() {
        return clients.size();
    }

    /** Closes every client connection that is still open. */
    public void closeAll() {
        clients.close().awaitUninterruptibly();
    }
}
