package io.portico.server.http3;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.portico.server.metrics.ListenerMetrics;

/**
 * Counts the UDP side's datagrams into the listener's {@code portico_received_bytes_total} and
 * {@code portico_sent_bytes_total}, as the TCP side counts its bytes on the wire (QUIC packets,
 * TLS handshakes and all, here as there). First on every UDP socket of the listener.
 */
@ChannelHandler.Sharable
final class DatagramTraffic extends ChannelDuplexHandler {

    private final ListenerMetrics metrics;

    DatagramTraffic(ListenerMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket packet) {
            metrics.bytesIn(packet.content().readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof DatagramPacket packet) {
            // A GSO send is one packet holding all its segments.
            metrics.bytesOut(packet.content().readableBytes());
        }
        ctx.write(msg, promise);
    }
}
