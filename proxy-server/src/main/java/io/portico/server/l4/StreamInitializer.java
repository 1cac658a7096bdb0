package io.portico.server.l4;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;

/** The pipeline of a client connection on a {@code protocol: tcp} listener, step by step. */
public final class StreamInitializer extends ChannelInitializer<Channel> {

    private final StreamContext context;

    public StreamInitializer(StreamContext context) {
        this.context = context;
    }

    @Override
    protected void initChannel(Channel ch) {
        addProxyProtocolHandler(ch);
        addTlsHandlers(ch);
        addRelay(ch);
    }

    private void addProxyProtocolHandler(Channel ch) {
        if (context.acceptsProxyProtocol()) {
            ch.pipeline().addLast("proxy-protocol", new ProxyProtocolHandler(context.proxyTrusted(),
                    context.config().stream().prereadTimeout().toMillis()));
        }
    }

    private void addTlsHandlers(Channel ch) {
        if (context.terminatesTls()) {
            ch.pipeline().addLast("tls", context.tls().newHandler(context.config().tls().handshakeTimeout()));
        } else if (context.sniRouting()) {
            ch.pipeline().addLast("sni-preread", new SniPreread(context.config().stream().prereadTimeout().toMillis()));
        }
    }

    private void addRelay(Channel ch) {
        ch.pipeline().addLast("relay", new TcpRelay(context));
    }
}
