package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.portico.server.config.HttpListenerConfig;

/** The pipeline of an HTTP/1.1 client connection, step by step. */
public final class Http1ServerInitializer extends ChannelInitializer<Channel> {

    private static final int MAX_CHUNK = 64 * 1024;

    private final ListenerContext context;

    public Http1ServerInitializer(ListenerContext context) {
        this.context = context;
    }

    @Override
    protected void initChannel(Channel ch) {
        addBudgetHandlers(ch);
        addTlsHandlers(ch);
        addHttp1Handlers(ch);
        addTimeoutHandlers(ch);
        addProxyHandler(ch);
    }

    private void addBudgetHandlers(Channel ch) {
        // First, so that every read (TLS's own included) passes the memory budget.
        ch.pipeline().addLast("budget", context.bufferBudget().newGate());
    }

    private void addTlsHandlers(Channel ch) {
        if (context.tls() != null) {
            ch.pipeline().addLast("tls", context.tls().newHandler(context.config().tls().handshakeTimeout()));
        }
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
        // The strict framing check sees the bytes before the lenient decoder does.
        ch.pipeline().addLast("framing", new RequestFramingGuard());
        ch.pipeline().addLast("http", new HttpServerCodec(decoder));
    }

    private void addTimeoutHandlers(Channel ch) {
        // After the decoder: it sees whole heads and body parts, and the proxy handler's reads.
        ch.pipeline().addLast("deadlines", new ClientDeadlines(context.config().http()));
    }

    /**
     * Takes the HTTP/1.1 handlers out of a connection that became a tunnel (WebSocket). The decoder
     * goes last, so bytes it still holds reach the handlers that replace it.
     */
    static void removeHttpHandlers(ChannelPipeline pipeline) {
        pipeline.remove(ClientDeadlines.class);
        pipeline.remove(RequestFramingGuard.class);
        pipeline.remove(HttpServerCodec.class);
    }

    private void addProxyHandler(Channel ch) {
        ch.pipeline().addLast("proxy", new Http1ProxyHandler(context));
    }
}
