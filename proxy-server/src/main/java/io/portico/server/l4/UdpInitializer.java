package io.portico.server.l4;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

/** Gives each listening socket of a {@code protocol: udp} listener its own {@link UdpRelay} and session table. */
public final class UdpInitializer extends ChannelInitializer<Channel> {

    private final StreamContext context;

    public UdpInitializer(StreamContext context) {
        this.context = context;
    }

    @Override
    protected void initChannel(Channel ch) {
        ch.pipeline().addLast("udp-relay", new UdpRelay(context));
    }
}
