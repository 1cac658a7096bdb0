package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;

import java.util.List;

/**
 * Looks at the first bytes of a cleartext connection: the HTTP/2 connection preface
 * ({@code PRI * HTTP/2.0...}, prior knowledge, RFC 9113 section 3.3) switches it to HTTP/2, anything
 * else leaves it to HTTP/1.1. Decides on the first byte that differs, so an HTTP/1 request costs
 * at most a couple of byte comparisons, and then leaves the pipeline.
 */
final class H2cPrefaceDetector extends ByteToMessageDecoder {

    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
        if (!ByteBufUtil.equals(in, in.readerIndex(), PREFACE, PREFACE.readerIndex(), n)) {
            ctx.pipeline().remove(this);
            return;
        }
        if (n == PREFACE.readableBytes()) {
            Http2Switch.toHttp2(ctx.pipeline());
            // The codec reads the preface itself: the bytes held here go on when this handler leaves.
            ctx.pipeline().remove(this);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        super.channelReadComplete(ctx);
        if (!ctx.isRemoved() && !ctx.channel().config().isAutoRead()) {
            // Not decided yet: the HTTP/1 handler only reads when it has a use for bytes, so ask here.
            ctx.read();
        }
    }
}
