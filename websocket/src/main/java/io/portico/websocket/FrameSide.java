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
        return !finishing && !peer.gone && !other().closeSent;
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
        CloseWebSocketFrame frame = code == NO_CODE ? new CloseWebSocketFrame() : new CloseWebSocketFrame(code, reason);
        ctx.writeAndFlush(frame, ctx.voidPromise());
        armCloseTimer();
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
        sendClose(code, reasonFor(code));
        finish();
        FrameSide other = other();
        other.sendClose(fromClient ? GOING_AWAY : INTERNAL_ERROR, fromClient ? "client error" : "upstream error");
        other.finish();
    }

    @Override
    void peerGone() {
        if (gone || !channel.isActive()) {
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
    public void ping(long payload) {
        if (!closeSent && !gone) {
            ByteBuf body = ctx.alloc().buffer(Long.BYTES).writeLong(payload);
            ctx.writeAndFlush(new PingWebSocketFrame(body), ctx.voidPromise());
        }
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
