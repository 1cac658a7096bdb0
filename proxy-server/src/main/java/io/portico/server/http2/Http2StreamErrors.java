package io.portico.server.http2;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameStreamException;

/**
 * Answers a stream error the codec found in a request (content-length against DATA, a forbidden
 * field, a bad pseudo-header) with RST_STREAM carrying that error. Netty leaves the reset to the
 * stream's child channel, which would close with CANCEL instead; this handler sits between the codec
 * and the multiplexer so the client learns what was wrong (RFC 9113 section 8.1.1).
 *
 * <p>It also drops frames of types Portico does not know, as {@link UnknownFrames} explains, and
 * tells the connection's {@link Http2ConnectionGuard} that a read is under way (it sees every
 * frame before the multiplexer hands any to a stream).
 */
final class Http2StreamErrors extends ChannelInboundHandlerAdapter {

    private final Http2Counters counters;
    private final Http2ConnectionGuard guard;

    Http2StreamErrors(Http2Counters counters, Http2ConnectionGuard guard) {
        this.counters = counters;
        this.guard = guard;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        guard.readStarted();
        if (!UnknownFrames.dropped(msg)) {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2FrameStreamException e && e.error() != Http2Error.CANCEL) {
            if (e.error() == Http2Error.PROTOCOL_ERROR) {
                counters.count(Http2Counters.Reason.MALFORMED_REQUEST);
            }
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(e.error()).stream(e.stream()), ctx.voidPromise());
        }
        ctx.fireExceptionCaught(cause);
    }
}
