package io.portico.websocket;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;

import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Relays an upgraded WebSocket connection between a client and an upstream.
 */
public final class WebSocketRelay {

    static final InternalLogger LOG = InternalLoggerFactory.getInstance(WebSocketRelay.class);

    /** How much of the protocol the relay looks at. */
    public enum Mode {
        /** Bytes both ways, unexamined. */
        RAW,
        /** Frames decoded and checked against RFC 6455 and the limits; data frames relayed as they came. */
        FRAMES
    }

    /**
     * A user event that tells a relay the server is going away (graceful shutdown, or its
     * listener was removed by a reload): in FRAMES mode both sides get a close frame with 1001
     * (Going Away, RFC 6455 section 7.4.1) and the close handshakes run as usual, so clients see
     * a clean close instead of a dropped connection (1006). RAW mode, which knows no frames,
     * ignores it. Fire it on either channel's pipeline.
     */
    public static final Object GOING_AWAY = new Object() {
        @Override
        public String toString() {
            return "GOING_AWAY";
        }
    };

    private WebSocketRelay() {
    }

    /**
     * Turns two connected channels into a WebSocket relay.
     *
     * <p>Call it on the channels' event loop (both must share it) after writing the 101 to the
     * client, then, in the same task, remove the HTTP handlers from both pipelines, removing the
     * handlers that sit after an HTTP decoder (the one calling this method, say) before the
     * decoder itself: the decoder hands what it still buffers (the upstream's first frames, say)
     * to the next handler when it is removed, and only the relay handlers, added at the end of
     * each pipeline, must receive it. Those bytes are relayed, in order, once the task ends, so
     * that nothing reaches a pipeline that still has its HTTP encoder. The relay turns auto-read
     * off and half-closure on for both channels.
     *
     * <p>RAW: bytes both ways, a side read only while the other is writable; end-of-input passed
     * on as a half-close (FIN, or TLS close_notify) once the bytes before it are flushed; each
     * connection closed when both its directions are done or the other connection is gone. Only
     * the idle and send timeouts apply.
     *
     * <p>FRAMES: frames decoded on each side (masked from the client, unmasked from the
     * upstream) and checked; a data frame then goes on as it came (a client's frame keeps its mask,
     * which the upstream needs anyway) and control frames are re-encoded (masked toward the
     * upstream), fragments as they come, and a data frame over 64 KiB in pieces as its bytes come,
     * checked piece by piece, so that neither memory nor latency grows with the frame size. A
     * violation closes the offender with 1002, 1007 or 1009, and the other side with 1001 when the
     * client offended or 1011 when the upstream did; both connections then end once those close
     * frames are flushed. A side left inside a frame that will never be completed (its sender
     * offended inside it, or was lost) is closed without a close frame, which could only be read as
     * payload there; Portico's own closes and pings to a side wait for the end of a frame being
     * streamed to it.
     * Text compressed with permessage-deflate is relayed without a UTF-8 check. The close
     * handshake is relayed both ways; a connection ends (FIN, then reading until the peer closes,
     * bounded by {@code closeTimeout}) once its own handshake is done. A side silent for {@code
     * idleTimeout} closes both with 1001; a side silent for {@code pingInterval} is pinged, and one
     * that sends nothing within {@code pongTimeout} is dropped without a close frame while the
     * other gets 1001. Pongs to Portico's pings are not relayed and do not count as traffic.
     * When one connection is lost the other gets 1001, or its own close code echoed if it had
     * already sent its close.
     *
     * <p>Both modes: a side that leaves the relay's output unread for {@code sendTimeout} (its
     * channel unwritable, taking no bytes) is closed, and the other side hears it went away.
     *
     * @param deflateNegotiated whether the 101 negotiated permessage-deflate (allows RSV1 on the
     *                          first frame of data messages)
     * @param onClose           runs once, on the event loop, when both channels are closed
     * @throws IllegalStateException when not called on both channels' event loop
     */
    public static void start(Channel client, Channel upstream, Mode mode, RelayLimits limits,
                             boolean deflateNegotiated, Runnable onClose) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(onClose, "onClose");
        if (!client.eventLoop().inEventLoop() || !upstream.eventLoop().inEventLoop()) {
            throw new IllegalStateException("start the relay on the event loop both channels use");
        }
        RelaySide clientSide;
        RelaySide upstreamSide;
        if (mode == Mode.RAW) {
            clientSide = new RawSide(client, true, limits);
            upstreamSide = new RawSide(upstream, false, limits);
        } else {
            long pingBase = ThreadLocalRandom.current().nextLong();
            clientSide = new FrameSide(client, true, limits, deflateNegotiated, pingBase);
            upstreamSide = new FrameSide(upstream, false, limits, deflateNegotiated, pingBase);
        }
        clientSide.peer = upstreamSide;
        upstreamSide.peer = clientSide;
        for (Channel channel : new Channel[] {client, upstream}) {
            channel.config().setAutoRead(false);
            HalfClose.allow(channel);
        }
        clientSide.install();
        upstreamSide.install();
        BothClosed bothClosed = new BothClosed(onClose);
        client.closeFuture().addListener(bothClosed);
        upstream.closeFuture().addListener(bothClosed);
        client.eventLoop().execute(() -> {
            clientSide.goLive();
            upstreamSide.goLive();
            clientSide.replay();
            upstreamSide.replay();
            clientSide.begin();
            upstreamSide.begin();
        });
    }

    /** Runs the callback when the second of the two close futures completes. */
    private static final class BothClosed implements ChannelFutureListener {

        private final Runnable onClose;
        private int closed;

        BothClosed(Runnable onClose) {
            this.onClose = onClose;
        }

        @Override
        public void operationComplete(ChannelFuture future) {
            if (++closed == 2) {
                onClose.run();
            }
        }
    }
}
