package io.portico.server.http2;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2UnknownFrame;

/**
 * Drops HTTP/2 frames of types Portico does not know (RFC 9113 section 5.5: they are ignored),
 * between a connection's frame codec and its stream multiplexer. The multiplexer would queue them
 * on their stream's channel, where nobody asks for them: they are not flow-controlled, so a peer
 * could pile them up without limit on a stream that is not being read, and a stream's channel
 * does not close while frames wait unread on it. Client connections do this in
 * {@link Http2StreamErrors}; connections to HTTP/2 backends through {@link #INSTANCE}.
 */
@ChannelHandler.Sharable
public final class UnknownFrames extends ChannelInboundHandlerAdapter {

    public static final UnknownFrames INSTANCE = new UnknownFrames();

    private UnknownFrames() {
    }

    /** Releases {@code msg} and says so when it is a frame of an unknown type. */
    static boolean dropped(Object msg) {
        if (msg instanceof Http2UnknownFrame unknown) {
            unknown.release();
            return true;
        }
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!dropped(msg)) {
            ctx.fireChannelRead(msg);
        }
    }
}
