package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;

import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * A test endpoint that speaks bytes: counts and checksums what it receives and notes end-of-input;
 * one made by {@link #keeping()} also keeps every byte, for tests that look at frames as they
 * stand on the wire.
 */
final class BytePeer extends ChannelInboundHandlerAdapter {

    final AtomicLong received = new AtomicLong();
    private final CRC32 crc = new CRC32();
    private final StringBuilder text = new StringBuilder();
    private final ByteArrayOutputStream all;
    volatile boolean inputShutdown;
    volatile Channel channel;

    BytePeer() {
        this(false);
    }

    private BytePeer(boolean keep) {
        all = keep ? new ByteArrayOutputStream() : null;
    }

    static BytePeer keeping() {
        return new BytePeer(true);
    }

    void install(Channel ch) {
        channel = ch;
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ch.pipeline().addLast(this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf bytes = (ByteBuf) msg;
        try {
            synchronized (this) {
                crc.update(bytes.nioBuffer());
                if (all != null) {
                    byte[] copy = new byte[bytes.readableBytes()];
                    bytes.getBytes(bytes.readerIndex(), copy);
                    all.writeBytes(copy);
                }
                if (text.length() < 1024) {
                    text.append(bytes.toString(java.nio.charset.StandardCharsets.ISO_8859_1));
                }
            }
            received.addAndGet(bytes.readableBytes());
        } finally {
            bytes.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            inputShutdown = true;
        }
    }

    synchronized long crc() {
        return crc.getValue();
    }

    /** Every byte received so far (a peer made by {@link #keeping()}). */
    synchronized byte[] bytes() {
        return all.toByteArray();
    }

    synchronized String text() {
        return text.toString();
    }

    void send(byte[] bytes) {
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes));
    }

    void shutdownOutput() {
        ((DuplexChannel) channel).shutdownOutput().syncUninterruptibly();
    }
}
