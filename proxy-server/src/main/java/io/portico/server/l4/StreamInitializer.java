package io.portico.server.l4;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;

import java.util.function.Supplier;

/**
 * The pipeline of a client connection on a {@code protocol: tcp} listener, step by step. Each
 * connection takes the listener's context of the moment (a reload swaps it) and keeps it.
 */
public final class StreamInitializer extends ChannelInitializer<Channel> {

    private final Supplier<StreamContext> contexts;

    /** @param contexts the context new connections get; null once the listener is removed */
    public StreamInitializer(Supplier<StreamContext> contexts) {
        this.contexts = contexts;
    }

    @Override
    protected void initChannel(Channel ch) {
        StreamContext context = contexts.get();
        if (context == null) {
            // Accepted in the instant a reload removed the listener.
            ch.close();
            return;
        }
        // Per connection rather than on the listener's bootstrap: a reload may change it.
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, context.halfClose());
        addProxyProtocolHandler(ch, context);
        addTlsHandlers(ch, context);
        addRelay(ch, context);
    }

    private static void addProxyProtocolHandler(Channel ch, StreamContext context) {
        if (context.acceptsProxyProtocol()) {
            ch.pipeline().addLast("proxy-protocol", new ProxyProtocolHandler(context.proxyTrusted(),
                    context.config().stream().prereadTimeout().toMillis()));
        }
    }

    private static void addTlsHandlers(Channel ch, StreamContext context) {
        if (context.terminatesTls()) {
            ch.pipeline().addLast("tls", context.tls().newHandler(context.config().tls().handshakeTimeout()));
        } else if (context.sniRouting()) {
            ch.pipeline().addLast("sni-preread", new SniPreread(context.config().stream().prereadTimeout().toMillis()));
        }
    }

    private static void addRelay(Channel ch, StreamContext context) {
        ch.pipeline().addLast("relay", new TcpRelay(context));
    }
}
