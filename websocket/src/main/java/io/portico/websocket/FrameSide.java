package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/**
 * One connection of a FRAMES relay: decodes and checks what the side sends, passes it to the peer
 * frame by frame, relays the close handshake, and closes the connection once its own close
 * handshake is done.
 *
 * <p>Close codes Portico chooses: the violation's code (1002, 1007, 1009) to the side that broke
 * the protocol; to the other side 1001 (Going Away) when the client broke it, since to the
 * upstream the client is leaving, and 1011 (Internal Error) when the upstream broke it, since to
 * the client the server failed; 1001 to both on idle timeout and to the survivor when a peer's
 * connection is lost. A side that had already sent its own close when its peer was lost gets
 * its own code echoed, completing the handshake it started.
 *
 * <p>A large data frame is relayed in pieces as it arrives ({@link RelayFrameDecoder}), so a side
 * can be in the middle of receiving a frame, and no other frame may be written to it then: its
 * bytes would be read as the frame's payload. Portico's own frames wait for the frame's end: a ping
 * is held until then (and its pong timeout starts then); a close for idleness or going away is sent
 * after the frame's last piece, the rest of the frame still being relayed, and the connection ends
 * after it, all within the close timeout. A frame that can never be completed, because its sender
 * broke the protocol inside it (invalid UTF-8, the only check that can fail mid-frame), or was
 * failed as the other side of a violation, or its connection was lost, leaves the side receiving it
 * closed without a close frame (which it sees as an abnormal closure, 1006): a close frame could
 * only be read as payload, and padding the frame out to its declared length would hand the
 * application a message Portico knows to be broken as if it were whole. The side that broke the
 * protocol still gets its close code when it is not itself inside a frame from the other side.
 */
final class FrameSide extends RelaySide implements Heartbeat.Listener {

    static final int NO_CODE = -1;
    static final int GOING_AWAY = 1001;
    static final int INTERNAL_ERROR = 1011;

    private final boolean deflate;
    private final int maxFramePayload;
    private final FrameValidator validator;

    private boolean closeReceived;
    private boolean closeSent;
    private boolean finishing;
    private boolean failed;
    private boolean outputShutdown;
    private int receivedCloseCode = NO_CODE;
    /** A streamed frame has begun toward this side and not ended: nothing else may be written to it. */
    private boolean midFrame;
    /** Our close to this side waits for the end of the frame being streamed to it, with this code and reason. */
    private boolean closeAfterFrame;
    private int closeAfterFrameCode;
    private String closeAfterFrameReason;
    /** This side's connection is to end once the frame being streamed to it has. */
    private boolean finishAfterFrame;

    FrameSide(Channel channel, boolean fromClient, RelayLimits limits, boolean deflate, long pingBase) {
        super(channel, fromClient, limits);
        this.deflate = deflate;
        this.maxFramePayload = Math.min(limits.maxFrameSize(), limits.maxMessageSize());
        this.validator = new FrameValidator(limits, deflate);
        this.heartbeat = Heartbeat.create(channel.eventLoop(), this, limits, true, pingBase);
    }

    @Override
    void install() {
        channel.pipeline().addLast(
                new RelayFrameDecoder(fromClient, deflate, maxFramePayload, heartbeat, validator),
                // For Portico's own frames and relayed control frames (data frames pass as they came):
                // toward the upstream they must be masked (RFC 6455 section 5.3), toward the client not.
                new WebSocket08FrameEncoder(!fromClient),
                this);
    }

    @Override
    boolean relaying() {
        FrameSide other = other();
        // A close of ours waiting for the end of a frame toward the other side lets that frame finish.
        return !finishing && !other.gone && (!other.closeSent || other.midFrame);
    }

    @Override
    void onMessage(Object msg) {
        if (msg instanceof ByteBuf dataFrame) {
            // A checked data frame, header and payload as they came (see RelayFrameDecoder).
            if (finishing || gone) {
                dataFrame.release();
                return;
            }
            if (heartbeat != null) {
                heartbeat.trafficRead();
            }
            other().send(dataFrame);
            return;
        }
        if (msg instanceof RelayFrameDecoder.Piece piece) {
            if (finishing || gone) {
                piece.release();
                return;
            }
            if (heartbeat != null) {
                // A frame trickling in keeps its sender from being idle, piece by piece.
                heartbeat.trafficRead();
            }
            other().sendPiece(piece);
            return;
        }
        if (!(msg instanceof WebSocketFrame frame)) {
            // e.g. the LastHttpContent an HTTP decoder emits after the 101 while it is being removed.
            discard(msg);
            return;
        }
        if (finishing || gone) {
            frame.release();
            return;
        }
        int code = validator.check(frame);
        if (code != FrameValidator.OK) {
            frame.release();
            fail(code);
            return;
        }
        if (frame instanceof CloseWebSocketFrame close) {
            onClose(close);
            return;
        }
        if (heartbeat != null) {
            if (frame instanceof PongWebSocketFrame && heartbeat.isOwnPong(frame.content())) {
                frame.release();
                return;
            }
            heartbeat.trafficRead();
        }
        other().send(frame);
    }

    private FrameSide other() {
        return (FrameSide) peer;
    }

    /** Writes a relayed frame: a {@link WebSocketFrame}, or a data frame's bytes as they came. */
    private void send(Object frame) {
        if (closeSent || gone || !channel.isActive()) {
            discard(frame);
        } else {
            ctx.write(frame, ctx.voidPromise());
        }
    }

    /**
     * Writes part of a streamed data frame. Once our close has been sent only the rest of a frame
     * begun before it goes on; a frame begun after it is dropped whole.
     */
    private void sendPiece(RelayFrameDecoder.Piece piece) {
        if (gone || !channel.isActive() || closeSent && !midFrame) {
            piece.release();
            return;
        }
        ctx.write(piece.content(), ctx.voidPromise());
        midFrame = !piece.last;
        if (piece.last) {
            frameEnded();
        }
    }

    /** The frame streamed to this side has ended: what waited for it goes out now. */
    private void frameEnded() {
        if (closeAfterFrame) {
            closeAfterFrame = false;
            writeClose(closeAfterFrameCode, closeAfterFrameReason);
        } else if (heartbeat != null && heartbeat.pingHeld() && !closeSent) {
            // A heartbeat ping to this side waited for the frame's end (see ping).
            writePing(heartbeat.pingPayload());
            heartbeat.pingSent();
        }
        if (finishAfterFrame) {
            finishAfterFrame = false;
            finish();
        }
    }

    private void onClose(CloseWebSocketFrame close) {
        closeReceived = true;
        stopHeartbeat();
        ByteBuf body = close.content();
        receivedCloseCode = body.readableBytes() >= 2 ? body.getUnsignedShort(body.readerIndex()) : NO_CODE;
        FrameSide other = other();
        if (other.gone || other.closeSent || !other.channel.isActive()) {
            close.release();
        } else {
            other.closeSent = true;
            other.stopHeartbeat();
            other.ctx.write(close, other.ctx.voidPromise());
            other.armCloseTimer();
            if (other.closeReceived) {
                other.finish();
            }
        }
        if (closeSent) {
            finish();
        }
    }

    /** Sends a close frame of Portico's own, unless this side already got one. */
    private void sendClose(int code, String reason) {
        if (closeSent || gone || !channel.isActive()) {
            return;
        }
        closeSent = true;
        stopHeartbeat();
        if (midFrame) {
            // Inside the frame it would be payload; it follows the frame's last piece (see frameEnded).
            closeAfterFrame = true;
            closeAfterFrameCode = code;
            closeAfterFrameReason = reason;
        } else {
            writeClose(code, reason);
        }
        armCloseTimer();
    }

    private void writeClose(int code, String reason) {
        CloseWebSocketFrame frame = code == NO_CODE ? new CloseWebSocketFrame() : new CloseWebSocketFrame(code, reason);
        ctx.writeAndFlush(frame, ctx.voidPromise());
    }

    /**
     * Ends this side after a violation: with our close frame and {@link #finish}, or, when a
     * streamed frame toward it can no longer be completed (its sender is being failed too), by
     * closing the connection without one (see the class comment).
     */
    private void endAfterViolation(int code, String reason) {
        if (midFrame) {
            closeMidFrame();
            return;
        }
        sendClose(code, reason);
        finish();
    }

    /** Closes a side that is inside a frame that will never be completed: no close frame can reach it. */
    private void closeMidFrame() {
        WebSocketRelay.LOG.debug("{} is inside a frame that will not be completed, closing it without a close frame",
                channel);
        closeAfterFrame = false;
        finishAfterFrame = false;
        channel.close();
    }

    /**
     * Ends this connection once everything written to it is flushed: a FIN (or TLS close_notify)
     * first, then reading on, dropping what comes, until the side closes too, so that the close
     * frame is never lost to a reset. The close timer bounds the wait.
     */
    private void finish() {
        if (finishing || gone) {
            return;
        }
        if (midFrame) {
            // The end of our output would cut the frame being streamed to this side.
            finishAfterFrame = true;
            armCloseTimer();
            return;
        }
        finishing = true;
        stopHeartbeat();
        armCloseTimer();
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) this::flushedForFinish);
        unpause();
        readMore();
    }

    private void flushedForFinish(ChannelFuture flushed) {
        if (!flushed.isSuccess() || gone) {
            channel.close();
            return;
        }
        // Our output is ended even when the side has ended its own already: closing an HTTP/2
        // stream that has not sent END_STREAM resets it (RST_STREAM CANCEL) instead of ending it.
        HalfClose.shutdownOutput(channel).addListener(shut -> {
            outputShutdown = true;
            if (!shut.isSuccess() || inputShutdown) {
                channel.close();
            }
        });
    }

    /** The client broke the protocol, the upstream sees the client leave; the reverse looks like a server failure. */
    private void fail(int code) {
        if (failed) {
            return;
        }
        failed = true;
        WebSocketRelay.LOG.debug("{} broke the WebSocket protocol, closing with {}", channel, code);
        // Each side inside a frame from the other is closed without a close frame: the other side
        // ends here, and this one stops being read, so neither frame would be completed.
        endAfterViolation(code, reasonFor(code));
        other().endAfterViolation(fromClient ? GOING_AWAY : INTERNAL_ERROR, fromClient ? "client error" : "upstream error");
    }

    @Override
    void peerGone() {
        if (gone || !channel.isActive()) {
            return;
        }
        if (midFrame) {
            // The rest of the frame was to come from the peer.
            closeMidFrame();
            return;
        }
        if (closeReceived) {
            sendClose(receivedCloseCode, "");
            finish();
        } else {
            sendClose(GOING_AWAY, "peer went away");
            unpause();
        }
    }

    @Override
    void onInputShutdown() {
        if (finishing) {
            if (outputShutdown) {
                channel.close();
            }
            // Otherwise flushedForFinish closes once our last frame is out.
        } else if (!closeReceived) {
            // End of input without a close frame: the peer will hear 1001.
            channel.close();
        }
        // A side that sent its close and then a FIN still gets the reply; finish() then closes.
    }

    @Override
    void onException(Throwable cause) {
        if (cause instanceof CorruptedWebSocketFrameException corrupted) {
            fail(corrupted.closeStatus().code());
        } else if (cause instanceof DecoderException) {
            fail(FrameValidator.PROTOCOL_ERROR);
        } else {
            WebSocketRelay.LOG.debug("{} failed, closing it", channel, cause);
            channel.close();
        }
    }

    @Override
    void goingAway() {
        WebSocketRelay.LOG.debug("{} going away, closing the relay", channel);
        FrameSide other = other();
        sendClose(GOING_AWAY, "server going away");
        other.sendClose(GOING_AWAY, "server going away");
        if (closeReceived) {
            finish();
        }
        if (other.closeReceived) {
            other.finish();
        }
    }

    @Override
    public void idle() {
        WebSocketRelay.LOG.debug("{} idle, closing the relay", channel);
        FrameSide other = other();
        sendClose(GOING_AWAY, "idle timeout");
        other.sendClose(GOING_AWAY, "idle timeout");
        if (closeReceived) {
            finish();
        }
        if (other.closeReceived) {
            other.finish();
        }
    }

    @Override
    public boolean ping(long payload) {
        if (closeSent || gone) {
            return true;
        }
        if (midFrame) {
            // Held by the heartbeat until the frame's last piece (frameEnded).
            return false;
        }
        writePing(payload);
        return true;
    }

    private void writePing(long payload) {
        ByteBuf body = ctx.alloc().buffer(Long.BYTES).writeLong(payload);
        ctx.writeAndFlush(new PingWebSocketFrame(body), ctx.voidPromise());
    }

    @Override
    public void dead() {
        // No close frame: a side that does not answer pings would not read one either.
        WebSocketRelay.LOG.debug("{} did not answer a ping, dropping it", channel);
        channel.close();
    }

    private static String reasonFor(int code) {
        return switch (code) {
            case FrameValidator.INVALID_PAYLOAD -> "invalid payload";
            case FrameValidator.MESSAGE_TOO_BIG -> "message too big";
            default -> "protocol error";
        };
    }
}
