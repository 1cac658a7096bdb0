package io.portico.server.http1;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

/**
 * Waits for the TLS handshake of a connection on a listener offering h2: when the client chose
 * h2 in ALPN, the connection switches to HTTP/2; otherwise it stays HTTP/1.1. Either way this
 * handler then leaves the pipeline.
 */
final class AlpnSwitchHandler extends ChannelInboundHandlerAdapter {

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!(evt instanceof SslHandshakeCompletionEvent handshake)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        // The HTTP/1 handler reads the TLS identity (SNI, client certificate) from this event first.
        ctx.fireUserEventTriggered(evt);
        if (!ctx.channel().isActive() || ctx.isRemoved()) {
            return;
        }
        ctx.pipeline().remove(this);
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (handshake.isSuccess() && tls != null && "h2".equals(tls.applicationProtocol())) {
            Http2Switch.toHttp2(ctx.pipeline());
        }
    }
}
