package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;

/**
 * One connection of a RAW relay: bytes to the peer as they come, end-of-input passed on as a
 * half-close once the bytes before it are flushed, and the connection closed when both of its
 * directions are done or the peer's connection is gone.
 */
final class RawSide extends RelaySide implements Heartbeat.Listener {

    private boolean outputShutdownStarted;
    private boolean outputShutdown;
    private boolean closing;

    RawSide(Channel channel, boolean fromClient, RelayLimits limits) {
        super(channel, fromClient, limits);
        this.heartbeat = Heartbeat.create(channel.eventLoop(), this, limits, false, 0);
    }

    @Override
    void install() {
        channel.pipeline().addLast(this);
    }

    @Override
    boolean relaying() {
        RawSide other = other();
        return !other.gone && !other.closing && !other.outputShutdownStarted;
    }

    @Override
    void onMessage(Object msg) {
        if (msg instanceof ByteBuf bytes) {
            if (heartbeat != null) {
                heartbeat.bytesAndTrafficRead();
            }
            other().send(bytes);
        } else {
            discard(msg);
        }
    }

    private RawSide other() {
        return (RawSide) peer;
    }

    private void send(ByteBuf bytes) {
        if (gone || closing || outputShutdownStarted || !channel.isActive()) {
            bytes.release();
        } else {
            ctx.write(bytes, ctx.voidPromise());
        }
    }

    @Override
    void onInputShutdown() {
        other().shutdownOutputAfterFlush();
        if (outputShutdown) {
            channel.close();
        }
    }

    private void shutdownOutputAfterFlush() {
        if (gone || closing || outputShutdownStarted) {
            return;
        }
        outputShutdownStarted = true;
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(flushed -> {
            if (!flushed.isSuccess()) {
                channel.close();
                return;
            }
            HalfClose.shutdownOutput(channel).addListener(shut -> {
                outputShutdown = true;
                if (!shut.isSuccess() || inputShutdown) {
                    channel.close();
                }
            });
        });
    }

    /** Closes once what was written is flushed, or after the close timeout if the side stops reading. */
    private void closeAfterFlush() {
        if (closing || gone) {
            return;
        }
        closing = true;
        stopHeartbeat();
        armCloseTimer();
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    void peerGone() {
        closeAfterFlush();
    }

    @Override
    void onException(Throwable cause) {
        WebSocketRelay.LOG.debug("{} failed, closing it", channel, cause);
        channel.close();
    }

    @Override
    public void idle() {
        WebSocketRelay.LOG.debug("{} idle, closing the relay", channel);
        closeAfterFlush();
        other().closeAfterFlush();
    }

    @Override
    public boolean ping(long payload) {
        // RAW relays do not know frames, so they never ping.
        return true;
    }

    @Override
    public void dead() {
        channel.close();
    }
}
