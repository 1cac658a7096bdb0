package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.portico.http.FramingGuard;
import io.portico.http.Http1FramingScanner;

/**
 * Sits in front of the HTTP decoder and lets through only bytes whose framing is strictly valid
 * ({@link Http1FramingScanner}). At the first bad byte the bytes before it still go on (earlier
 * pipelined requests are fine), nothing after it does, and a {@link ClientFault} 400 tells the
 * proxy handler to answer and close: a request the decoder would have read leniently is never
 * completed upstream.
 */
final class RequestFramingGuard extends FramingGuard {

    RequestFramingGuard() {
        super(Http1FramingScanner.forRequests());
    }

    @Override
    protected void onBadByte(ChannelHandlerContext ctx, ByteBuf buf, int bad) {
        if (bad > buf.readerIndex()) {
            buf.writerIndex(bad);
            ctx.fireChannelRead(buf);
        } else {
            buf.release();
        }
        ctx.fireUserEventTriggered(new ClientFault(HttpResponseStatus.BAD_REQUEST, scanner.error()));
    }
}
