package io.portico.websocket;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;

import java.util.function.Function;

/** Ends the sending direction of a connection while leaving the receiving one open. */
public final class HalfClose {

    /**
     * Set on a channel that ends its sending direction in a way of its own, e.g. an HTTP/2 stream
     * carrying a WebSocket (RFC 8441): a DATA frame with END_STREAM rather than closing the stream,
     * which would reset it.
     */
    public static final AttributeKey<Function<Channel, ChannelFuture>> OUTPUT_END =
            AttributeKey.valueOf(HalfClose.class, "outputEnd");

    private HalfClose() {
    }

    /**
     * Asks the transport to report end-of-input as an event instead of closing, so that a relay
     * can pass a half-close on; returns false when the channel cannot do that.
     */
    static boolean allow(Channel channel) {
        return channel instanceof DuplexChannel && channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    }

    /**
     * Ends the output the channel's own way when it set {@link #OUTPUT_END}, else sends TLS close_notify when the connection is TLS (a bare TCP FIN would look like a
     * truncation attack to the peer), a TCP FIN otherwise, and closes the channel when it can do
     * neither.
     */
    static ChannelFuture shutdownOutput(Channel channel) {
        Function<Channel, ChannelFuture> end = channel.attr(OUTPUT_END).get();
        if (end != null) {
            return end.apply(channel);
        }
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl != null) {
            return ssl.closeOutbound();
        }
        if (channel instanceof DuplexChannel duplex) {
            return duplex.shutdownOutput();
        }
        return channel.close();
    }
}
