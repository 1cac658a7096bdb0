package io.portico.server.http3;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.quic.EpollQuicUtils;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** A segmented send the kernel refuses turns GSO off for the listener; other sends pass untouched. */
class GsoSwitchTest {

    private static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.1", 4433);

    /** Stands in for the kernel: refuses segmented sends with EIO (no checksum offload), takes the rest. */
    private static final class RefusingKernel extends ChannelOutboundHandlerAdapter {
        final AtomicInteger segmented = new AtomicInteger();
        final AtomicInteger plain = new AtomicInteger();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            boolean isSegmented = msg instanceof io.netty.channel.unix.SegmentedDatagramPacket;
            ReferenceCountUtil.release(msg);
            if (isSegmented) {
                segmented.incrementAndGet();
                promise.setFailure(new IOException("sendmsg(..) failed: Input/output error"));
            } else {
                plain.incrementAndGet();
                promise.setSuccess();
            }
        }
    }

    @Test
    void theFirstRefusedSegmentedSendTurnsGsoOffForGood() {
        GsoSwitch gso = new GsoSwitch("https");
        int segments = EpollQuicUtils.newSegmentedAllocator(GsoSwitch.SEGMENTS).maxNumSegments();
        assertThat(gso.maxNumSegments()).isEqualTo(segments);
        RefusingKernel kernel = new RefusingKernel();
        EmbeddedChannel udp = new EmbeddedChannel(kernel, gso.watch());

        udp.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[1200]), PEER));
        assertThat(gso.off()).as("a plain datagram says nothing about GSO").isFalse();

        // As Netty's QUIC codec writes: with a promise of its own that nobody looks at.
        udp.writeAndFlush(gso.newPacket(Unpooled.wrappedBuffer(new byte[3600]), 1200, PEER));
        assertThat(kernel.segmented).hasValue(1);
        assertThat(gso.off()).isTrue();
        assertThat(gso.maxNumSegments()).as("Netty's QUIC codec then sends one datagram per call").isZero();

        udp.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(new byte[1200]), PEER));
        assertThat(kernel.plain).hasValue(2);
        assertThat(udp.finishAndReleaseAll()).isFalse();
    }
}
