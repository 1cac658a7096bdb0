package io.portico.server.http3;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.SegmentedDatagramPacket;
import io.netty.handler.codec.quic.EpollQuicUtils;
import io.netty.handler.codec.quic.SegmentedDatagramPacketAllocator;

import java.net.InetSocketAddress;

/**
 * UDP GSO for one HTTP/3 listener: the packets quiche has ready for a connection leave as one
 * segmented send of up to {@value #SEGMENTS} datagrams (one system call and one trip through the
 * UDP stack instead of one each). A kernel can have UDP_SEGMENT and still refuse such a send (a
 * device without checksum offload, a route through IPsec, a segment over the path MTU), and Netty's
 * QUIC codec does not look at the outcome of its writes: {@link #watch()} does, and the first
 * refused segmented send turns GSO off for the listener, logged once. Netty asks
 * {@link #maxNumSegments()} before each send, so from then on packets go one per call; QUIC's loss
 * recovery resends what the refused send held.
 */
final class GsoSwitch implements SegmentedDatagramPacketAllocator {

    private static final System.Logger LOG = System.getLogger("portico");
    /** Datagrams per GSO send, as in Netty's QUIC examples (the kernel allows 64). */
    static final int SEGMENTS = 10;

    private final String listener;
    private final SegmentedDatagramPacketAllocator segments = EpollQuicUtils.newSegmentedAllocator(SEGMENTS);
    private final Watch watch = new Watch();
    private volatile boolean off;

    GsoSwitch(String listener) {
        this.listener = listener;
    }

    @Override
    public int maxNumSegments() {
        return off ? 0 : segments.maxNumSegments();
    }

    @Override
    public DatagramPacket newPacket(ByteBuf buffer, int segmentSize, InetSocketAddress remoteAddress) {
        return segments.newPacket(buffer, segmentSize, remoteAddress);
    }

    /** Whether GSO has been turned off after a refused send. */
    boolean off() {
        return off;
    }

    /** The handler, first in each of the listener's UDP pipelines, that sees how segmented sends went. */
    ChannelHandler watch() {
        return watch;
    }

    void refused(Throwable cause) {
        if (!off) {
            off = true;
            LOG.log(System.Logger.Level.WARNING, "listener " + listener + " (http3): the kernel refused a UDP GSO send ("
                    + cause + "); sending one datagram per call from now on");
        }
    }

    @ChannelHandler.Sharable
    private final class Watch extends ChannelOutboundHandlerAdapter {
        /** One listener for every watched send, not one per packet. */
        private final ChannelFutureListener onSent = sent -> {
            if (!sent.isSuccess()) {
                refused(sent.cause());
            }
        };

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (!off && msg instanceof SegmentedDatagramPacket) {
                ctx.write(msg, promise.unvoid().addListener(onSent));
                return;
            }
            ctx.write(msg, promise);
        }
    }
}
