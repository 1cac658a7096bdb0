package io.portico.server.http1;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2CodecUtil;

import java.util.Collection;

/**
 * Watches the first request of a cleartext connection for {@code Upgrade: h2c} (RFC 7540 section
 * 3.2). A body-less HTTP/1.1 request that asks for it is handed to Netty's upgrade handler, which answers
 * 101 and turns the request into stream 1 of the new HTTP/2 connection. A request with a body keeps
 * HTTP/1.1 (the server may ignore an upgrade, and buffering a body to replay it is what nginx and
 * Envoy refuse to do as well); later requests are never upgraded. The filter leaves the pipeline
 * after the first request.
 */
final class H2cUpgradeFilter extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpRequest request)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (wantsH2c(request)) {
            Http1ServerCodec http = ctx.pipeline().get(Http1ServerCodec.class);
            Http1ProxyHandler http1 = ctx.pipeline().get(Http1ProxyHandler.class);
            HttpServerUpgradeHandler.UpgradeCodec h2c = new ReplacingHttp1(Http2Switch.frontend(http1).upgradeCodec());
            ctx.pipeline().addAfter(ctx.name(), UPGRADE, new HttpServerUpgradeHandler(http,
                    protocol -> Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME.toString().contentEquals(protocol) ? h2c : null,
                    0));
            ctx.pipeline().addAfter(UPGRADE, DECLINED, new Declined());
        }
        // Fired from here after leaving: the message goes to the handler that followed this one.
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(msg);
    }

    private static final String UPGRADE = "h2c-upgrade";
    private static final String DECLINED = "h2c-declined";

    /**
     * Takes Netty's upgrade handler out once it let the request through without upgrading (a
     * missing {@code Connection: Upgrade, HTTP2-Settings}, say). It is an aggregator: left in
     * place it would aggregate every later request naming an Upgrade, and answer some with a 417
     * of its own.
     */
    private static final class Declined extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest) {
                ctx.pipeline().remove(UPGRADE);
                ctx.pipeline().remove(this);
            }
            ctx.fireChannelRead(msg);
        }
    }

    static boolean wantsH2c(HttpRequest request) {
        // RFC 9110 section 7.8: a server must ignore Upgrade in an HTTP/1.0 request.
        if (request.protocolVersion() != HttpVersion.HTTP_1_1) {
            return false;
        }
        HttpHeaders h = request.headers();
        if (!h.containsValue(HttpHeaderNames.UPGRADE, Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, true)
                || !h.contains(Http2CodecUtil.HTTP_UPGRADE_SETTINGS_HEADER)) {
            return false;
        }
        return RequestHeadChecks.announcesNoBody(request);
    }

    /** Netty's HTTP/2 upgrade codec, which also takes the HTTP/1 exchange handler out. */
    private static final class ReplacingHttp1 implements HttpServerUpgradeHandler.UpgradeCodec {
        private final HttpServerUpgradeHandler.UpgradeCodec delegate;

        ReplacingHttp1(HttpServerUpgradeHandler.UpgradeCodec delegate) {
            this.delegate = delegate;
        }

        @Override
        public Collection<CharSequence> requiredUpgradeHeaders() {
            return delegate.requiredUpgradeHeaders();
        }

        @Override
        public boolean prepareUpgradeResponse(ChannelHandlerContext ctx, FullHttpRequest request,
                                              HttpHeaders headers) {
            return delegate.prepareUpgradeResponse(ctx, request, headers);
        }

        @Override
        public void upgradeTo(ChannelHandlerContext ctx, FullHttpRequest request) {
            ctx.pipeline().remove(Http1ProxyHandler.class);
            // Still there: the upgrade request never reached it.
            ctx.pipeline().remove(DECLINED);
            // The rest of the HTTP/1.1 handlers (the framing check and deadlines would take the HTTP/2
            // preface for a bad request); Netty's upgrade handler has already taken the codec out.
            Http1ServerInitializer.removeHttpHandlers(ctx.pipeline());
            delegate.upgradeTo(ctx, request);
        }
    }
}
