package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.portico.server.config.HttpListenerConfig;
import io.portico.server.l4.ProxyProtocolHandler;

import java.util.concurrent.TimeUnit;

/** The pipeline of an HTTP/1.1 client connection, step by step. */
public final class Http1ServerInitializer extends ChannelInitializer<Channel> {

    private static final int MAX_CHUNK = 64 * 1024;

    private final ListenerContext context;

    public Http1ServerInitializer(ListenerContext context) {
        this.context = context;
    }

    @Override
    protected void initChannel(Channel ch) {
        addProxyProtocolHandler(ch);
        addTlsHandlers(ch);
        addTimeoutHandlers(ch);
        addHttp1Handlers(ch);
        addProxyHandler(ch);
    }

    private void addProxyProtocolHandler(Channel ch) {
        if (context.config().proxyProtocol().accept()) {
            ch.pipeline().addLast("proxy-protocol", new ProxyProtocolHandler(context.proxyProtocolTrusted(),
                    context.config().stream().prereadTimeout().toMillis()));
        }
    }

    private void addTlsHandlers(Channel ch) {
        if (context.tls() != null) {
            ch.pipeline().addLast("tls", context.tls().newHandler(context.config().tls().handshakeTimeout()));
        }
    }

    private void addTimeoutHandlers(Channel ch) {
        long idle = context.config().http().keepaliveTimeout().toMillis();
        // Reader idle only closes a connection that has no request in progress (see Http1ProxyHandler).
        ch.pipeline().addLast("idle", new IdleStateHandler(idle, 0, 0, TimeUnit.MILLISECONDS));
    }

    private void addHttp1Handlers(Channel ch) {
        HttpListenerConfig http = context.config().http();
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(http.maxRequestLine().intBytes())
                .setMaxHeaderSize(http.maxHeaderSize().intBytes())
                .setMaxChunkSize(MAX_CHUNK)
                .setValidateHeaders(true)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true);
        ch.pipeline().addLast("http", new HttpServerCodec(decoder));
    }

    private void addProxyHandler(Channel ch) {
        ch.pipeline().addLast("proxy", new Http1ProxyHandler(context));
    }
}
