package io.portico.server.listener;

import io.netty.channel.Channel;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;

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
            CompletableFuture<Void> done = new CompletableFuture<>();
            channels.get(i).close().addListener(f -> {
                if (f.isSuccess()) {
                    done.complete(null);
                } else {
                    done.completeExceptionally(f.cause());
                }
            });
            closed[i] = done;
        }
        return CompletableFuture.allOf(closed);
    }

    @Override
    public String toString() {
        return "listener " + name + " on " + localAddress + " (" + channels.size() + " socket"
                + (channels.size() == 1 ? ")" : "s)");
    }
}
