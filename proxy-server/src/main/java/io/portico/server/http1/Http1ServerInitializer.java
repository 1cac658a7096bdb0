package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.portico.server.l4.ProxyProtocolHandler;

import java.util.function.Supplier;

/**
 * The pipeline of an HTTP/1.1 client connection, step by step. Each new connection takes the
 * listener's context of the moment (a reload swaps it) and keeps it until it closes.
 */
public final class Http1ServerInitializer extends ChannelInitializer<Channel> {

    /** Name of the HTTP/1 codec in the pipeline. */
    static final String HTTP_CODEC = "http";
    /** Name of the {@link RequestFramingGuard} in the pipeline. */
    static final String FRAMING = "framing";
    /** Name of {@link ClientDeadlines} in the pipeline. */
    static final String DEADLINES = "deadlines";

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
        // Early, so that every read (TLS's own included) is counted and passes the memory budget.
        ch.pipeline().addLast("traffic", context.newTrafficHandler());
        addProxyProtocolHandler(ch, context);
        addTlsHandlers(ch, context);
        // Before the framing check, which would refuse the HTTP/2 preface.
        addHttp2Detection(ch, context);
        addHttp1Handlers(ch, context);
        addTimeoutHandlers(ch, context);
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
            ch.pipeline().addLast("tls", context.tls().newHandler(context.config().tls().handshakeTimeout(),
                    Http1ServerInitializer::answerPlainHttp));
        }
    }

    /**
     * Plain HTTP sent to a TLS listener gets nginx's 400 ("The plain HTTP request was sent to HTTPS
     * port") and a lingering close, rather than a connection closed without a word.
     */
    private static void answerPlainHttp(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(LocalResponses.plainHttpOnTlsPort(ctx.alloc())).addListener(LingeringClose.AFTER_WRITE);
    }

    /** HTTP/2 starts as HTTP/1.1 and switches: after ALPN chose h2, or on the h2c preface or upgrade. */
    private static void addHttp2Detection(Channel ch, ListenerContext context) {
        if (context.offersH2()) {
            ch.pipeline().addLast("alpn", new AlpnSwitchHandler());
        } else if (context.acceptsH2c()) {
            ch.pipeline().addLast("h2c-preface", new H2cPrefaceDetector());
        }
    }

    /**
     * Netty's codec keeps each decoded request's method until its response is encoded, and fails
     * the connection past its default of 128 (a DecoderException, logged as a warning with its stack
     * trace, and the connection closed with the pipeline unanswered). It decodes a whole read at
     * once, so one read of small pipelined requests (64 KiB of 18-byte ones is some 3,600) passed
     * 128 before {@link Http1ProxyHandler} could cut the pipeline at
     * {@link Http1ProxyHandler#MAX_QUEUED_REQUESTS}; reads stop while requests wait, so one read is
     * the most it ever holds.
     */
    static final int MAX_DECODED_PIPELINE = 4096;

    static Http1ServerCodec newCodec(ListenerContext context) {
        return new Http1ServerCodec(context.http1Decoder(), MAX_DECODED_PIPELINE);
    }

    private static void addHttp1Handlers(Channel ch, ListenerContext context) {
        // The strict framing check sees the bytes before the lenient decoder does.
        ch.pipeline().addLast(FRAMING, new RequestFramingGuard());
        ch.pipeline().addLast(HTTP_CODEC, newCodec(context));
        if (context.acceptsH2c()) {
            ch.pipeline().addLast("h2c-upgrade-filter", new H2cUpgradeFilter());
        }
    }

    private static void addTimeoutHandlers(Channel ch, ListenerContext context) {
        // After the decoder: it sees whole heads and body parts, and the proxy handler's reads.
        ch.pipeline().addLast(DEADLINES, new ClientDeadlines(context));
    }

    /**
     * Takes the HTTP/1.1 handlers out of a connection that became a tunnel (WebSocket) or HTTP/2.
     * The decoder goes after the handlers behind it, so bytes it still holds reach the handlers
     * that replace it; the framing guard in front of it goes last, so bytes it held back (sent
     * right behind the upgrade request) follow them.
     */
    static void removeHttpHandlers(ChannelPipeline pipeline) {
        if (pipeline.get(ClientDeadlines.class) != null) {
            pipeline.remove(ClientDeadlines.class);
        }
        Http1ProxyHandler proxy = pipeline.get(Http1ProxyHandler.class);
        if (proxy != null) {
            proxy.unlinkParked();
        }
        if (pipeline.get(H2cUpgradeFilter.class) != null) {
            pipeline.remove(H2cUpgradeFilter.class);
        }
        // An HTTP/2 stream's channel has none of these.
        if (pipeline.get(Http1ServerCodec.class) != null) {
            pipeline.remove(Http1ServerCodec.class);
        }
        if (pipeline.get(RequestFramingGuard.class) != null) {
            pipeline.remove(RequestFramingGuard.class);
        }
    }

    private static void addProxyHandler(Channel ch, ListenerContext context) {
        ch.pipeline().addLast("proxy", new Http1ProxyHandler(context));
    }
}
