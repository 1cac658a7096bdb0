package io.portico.server.listener;

import io.netty.channel.Channel;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A listener's bound server sockets: one, or one per event loop with SO_REUSEPORT, all on the same
 * address.
 */
public final class BoundListener {

    private final String name;
    private final InetSocketAddress localAddress;
    private final List<Channel> channels;

    BoundListener(String name, InetSocketAddress localAddress, List<Channel> channels) {
        this.name = name;
        this.localAddress = localAddress;
        this.channels = List.copyOf(channels);
    }

    public String name() {
        return name;
    }

    /** The address actually bound, with the real port when the config asked for port 0. */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** The listening channels, in bind order. */
    public List<Channel> channels() {
        return channels;
    }

    /**
     * Closes every listening socket, so new connections are refused; connections already accepted
     * stay open. The future completes when all sockets are closed, exceptionally if one failed to close.
     */
    public CompletableFuture<Void> closeAsync() {
        CompletableFuture<?>[] closed = new CompletableFuture<?>[channels.size()];
        for (int i = 0; i < closed.length; i++) {
            Channel channel = channels.get(i);
            CompletableFuture<Void> done = new CompletableFuture<>();
            channel.close().addListener(f -> {
                if (f.isSuccess()) {
                    completeAfterNextIoTurn(channel, done);
                } else {
                    done.completeExceptionally(f.cause());
                }
            });
            closed[i] = done;
        }
        return CompletableFuture.allOf(closed);
    }

    /**
     * The JDK closes a NIO socket that is registered with a selector only when that selector next
     * runs, so NIO keeps accepting for a moment after the channel reports closed (about one close
     * in ten in tests). A task scheduled now runs after the loop's next I/O turn, once the file
     * descriptor is really gone; for the native transports, which close at once, it costs one turn.
     */
    private static void completeAfterNextIoTurn(Channel channel, CompletableFuture<Void> done) {
        try {
            channel.eventLoop().schedule(() -> done.complete(null), 0, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException shuttingDown) {
            done.complete(null);
        }
    }

    @Override
    public String toString() {
        return "listener " + name + " on " + localAddress + " (" + channels.size() + " socket"
                + (channels.size() == 1 ? ")" : "s)");
    }
}
