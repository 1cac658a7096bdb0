package io.portico.server.l4;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

import java.util.function.Supplier;

/** Gives each listening socket of a {@code protocol: udp} listener its own {@link UdpRelay} and session table. */
public final class UdpInitializer extends ChannelInitializer<Channel> {

    private final String name;
    private final Supplier<StreamContext> contexts;

    /**
     * @param name     the listener's name, for logs
     * @param contexts the context new sessions get; null while the listener drains (removed, or shutting down)
     */
    public UdpInitializer(String name, Supplier<StreamContext> contexts) {
        this.name = name;
        this.contexts = contexts;
    }

    @Override
    protected void initChannel(Channel ch) {
        ch.pipeline().addLast("udp-relay", new UdpRelay(name, contexts));
    }
}
