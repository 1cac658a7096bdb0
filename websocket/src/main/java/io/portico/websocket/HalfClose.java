package io.portico.websocket;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;

/** Ends the sending direction of a connection while leaving the receiving one open. */
final class HalfClose {

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
     * Sends TLS close_notify when the connection is TLS (a bare TCP FIN would look like a
     * truncation attack to the peer), a TCP FIN otherwise, and closes the channel when it can do
     * neither.
     */
    static ChannelFuture shutdownOutput(Channel channel) {
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
