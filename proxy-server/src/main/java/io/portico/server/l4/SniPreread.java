package io.portico.server.l4;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.util.concurrent.Future;

/**
 * Reads the server name from the client's TLS ClientHello without terminating TLS (nginx
 * {@code ssl_preread}, HAProxy {@code req.ssl_sni}). Netty's {@link AbstractSniHandler} parses the
 * record, fires a {@link SniCompletionEvent} with the name (null without SNI, or when the bytes
 * are not TLS at all), and this handler leaves the pipeline, handing every byte it held to the relay untouched.
 * A client that sends no complete ClientHello within the preread timeout is closed.
 */
final class SniPreread extends AbstractSniHandler<String> {

    SniPreread(long timeoutMillis) {
        super(timeoutMillis);
    }

    @Override
    protected Future<String> lookup(ChannelHandlerContext ctx, String hostname) {
        return ctx.executor().newSucceededFuture(hostname);
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<String> future) {
        // Leaving hands the bytes held so far (the ClientHello) on; the relay acts on the
        // SniCompletionEvent that follows.
        ctx.pipeline().remove(this);
    }
}
