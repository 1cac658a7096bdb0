package io.portico.server.listener;

import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;

/**
 * What one transport is made of: its I/O handler, channel classes, and the socket options it can
 * set, each null when the transport cannot set it.
 */
record TransportParts(
        IoHandlerFactory factory,
        Class<? extends ServerSocketChannel> serverChannel,
        Class<? extends SocketChannel> socketChannel,
        Class<? extends DatagramChannel> datagramChannel,
        ChannelOption<Boolean> reusePort,
        ChannelOption<Integer> fastOpen,
        ChannelOption<Integer> deferAccept,
        ChannelOption<Boolean> fastOpenConnect,
        ChannelOption<Integer> keepIdle,
        ChannelOption<Integer> keepInterval,
        ChannelOption<Integer> keepCount) {
}
