package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.portico.server.config.HttpListenerConfig;
import io.portico.server.l4.ProxyProtocolHandler;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The pipeline of an HTTP/1.1 client connection, step by step. Each new connection takes the
 * listener's context of the moment (a reload swaps it) and keeps it until it closes.
 */
public final class Http1ServerInitializer extends ChannelInitializer<Channel> {

    /** Name of the HTTP/1 codec in the pipeline. */
    static final String HTTP_CODEC = "http";

    private static final int MAX_CHUNK = 64 * 1024;

    private final Supplier<ListenerContext> contexts;

    public Http1ServerInitializer(ListenerContext context) {
        this(() -> context);
    }

    /** @param contexts the context for each new connection (read once per connection) */
    public Http1ServerInitializer(Supplier<ListenerContext> contexts) {
        this.contexts = contexts;
    }

    @Override
    protected void initChannel(Channel ch) {
        ListenerContext context = contexts.get();
        ch.pipeline().addLast("traffic", context.trafficHandler());
        addProxyProtocolHandler(ch, context);
        addTlsHandlers(ch, context);
        addHttp2Detection(ch, context);
        addTimeoutHandlers(ch, context);
        addHttp1Handlers(ch, context);
        addProxyHandler(ch, context);
    }

    private static void addProxyProtocolHandler(Channel ch, ListenerContext context) {
        if (context.config().proxyProtocol().accept()) {
            ch.pipeline().addLast("proxy-protocol", new ProxyProtocolHandler(context.proxyProtocolTrusted(),
                    context.config().stream().prereadTimeout().toMillis()));
        }
    }

    private static void addTlsHandlers(Channel ch, ListenerContext context) {
        if (context.tls() != null) {
            ch.pipeline().addLast("tls", context.tls().newHandler(context.config().tls().handshakeTimeout()));
        }
    }

    /** HTTP/2 starts as HTTP/1.1 and switches: after ALPN chose h2, or on the h2c preface or upgrade. */
    private static void addHttp2Detection(Channel ch, ListenerContext context) {
        if (context.offersH2()) {
            ch.pipeline().addLast("alpn", new AlpnSwitchHandler());
        } else if (context.acceptsH2c()) {
            ch.pipeline().addLast("h2c-preface", new H2cPrefaceDetector());
        }
    }

    private static void addTimeoutHandlers(Channel ch, ListenerContext context) {
        long idle = context.config().http().keepaliveTimeout().toMillis();
        // Reader idle only closes a connection that has no request in progress (see Http1ProxyHandler).
        ch.pipeline().addLast("idle", new IdleStateHandler(idle, 0, 0, TimeUnit.MILLISECONDS));
    }

    private static void addHttp1Handlers(Channel ch, ListenerContext context) {
        HttpListenerConfig http = context.config().http();
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(http.maxRequestLine().intBytes())
                .setMaxHeaderSize(http.maxHeaderSize().intBytes())
                .setMaxChunkSize(MAX_CHUNK)
                .setValidateHeaders(true)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true);
        ch.pipeline().addLast(HTTP_CODEC, new HttpServerCodec(decoder));
        if (context.acceptsH2c()) {
            ch.pipeline().addLast("h2c-upgrade-filter", new H2cUpgradeFilter());
        }
    }

    private static void addProxyHandler(Channel ch, ListenerContext context) {
        ch.pipeline().addLast("proxy", new Http1ProxyHandler(context));
    }
}
