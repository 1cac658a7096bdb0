package io.portico.server.http1;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AsciiString;

/**
 * Adds {@code Alt-Svc: h3=":port"; ma=N} to the final responses of an HTTP/1.1 connection or an
 * HTTP/2 stream on a listener that also serves HTTP/3, as nginx users add by hand. One the upstream
 * or a route's header rules already set is left as it is.
 */
final class AltSvcHandler extends ChannelOutboundHandlerAdapter {

    /** Its name in a pipeline. */
    static final String NAME = "alt-svc";

    private final ListenerContext context;

    AltSvcHandler(ListenerContext context) {
        this.context = context;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response && response.status().code() >= 200) {
            AsciiString value = context.altSvc();
            if (value != null && !response.headers().contains(HttpHeaderNames.ALT_SVC)
                    // A cache hit's head encoded ahead holds the stored fields as bytes.
                    && !(msg instanceof Http1ServerCodec.PreEncoded pre && pre.altSvcInPrefix())) {
                response.headers().set(HttpHeaderNames.ALT_SVC, value);
            }
        }
        ctx.write(msg, promise);
    }

    /** The header's value for an HTTP/3 port and max age. */
    static AsciiString value(int port, long maxAge) {
        return AsciiString.cached("h3=\":" + port + "\"; ma=" + maxAge);
    }
}
