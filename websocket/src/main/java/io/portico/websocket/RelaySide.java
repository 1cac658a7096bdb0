package io.portico.websocket;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One connection of a relay, as the last inbound handler of its pipeline: reads only while the
 * peer can take more (both channels have auto-read off), and holds every event that arrives
 * before the relay goes live.
 *
 * <p>Going live waits for the task after {@link WebSocketRelay#start}: the caller removes its HTTP
 * handlers after starting the relay, and the bytes those handlers still buffered arrive here
 * during the removal; writing them on to a peer that still has its HTTP encoder would corrupt
 * them, so they are replayed, in order, once both pipelines are clean.
 */
abstract class RelaySide extends ChannelInboundHandlerAdapter {

    private static final Object INPUT_SHUTDOWN = new Object();
    private static final Object INACTIVE = new Object();

    final Channel channel;
    final boolean fromClient;
    private final long closeTimeoutNanos;
    private final SendTimeout sendTimeout;
    Heartbeat heartbeat;
    RelaySide peer;
    ChannelHandlerContext ctx;

    boolean gone;
    boolean inputShutdown;
    private boolean live;
    private boolean paused;
    private ArrayDeque<Object> held;
    private ScheduledFuture<?> closeTimer;

    RelaySide(Channel channel, boolean fromClient, RelayLimits limits) {
        this.channel = channel;
        this.fromClient = fromClient;
        this.closeTimeoutNanos = limits.closeTimeout().toNanos();
        this.sendTimeout = SendTimeout.create(channel, limits, this::sendTimedOut);
    }

    /** Adds this side's handlers at the end of its pipeline. */
    abstract void install();

    /** A message read from this side. */
    abstract void onMessage(Object msg);

    /** The peer's connection is gone (closed, reset, or dropped as dead). */
    abstract void peerGone();

    /** This side sent end-of-input; {@link #inputShutdown} is already set. */
    abstract void onInputShutdown();

    abstract void onException(Throwable cause);

    /** The server is going away ({@link WebSocketRelay#GOING_AWAY}). */
    void goingAway() {
        // RAW: no frame to say it with; the connections close with the server.
    }

    /** Whether what this side sends is still passed to the peer; if not, it is read and dropped. */
    abstract boolean relaying();

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (live) {
            onMessage(msg);
        } else {
            hold(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (live) {
            peer.flush();
            readMore();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (sendTimeout != null) {
            sendTimeout.writabilityChanged();
        }
        if (live && channel.isWritable()) {
            peer.resume();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            if (live) {
                inputShutdown();
            } else {
                hold(INPUT_SHUTDOWN);
            }
        } else if (evt == WebSocketRelay.GOING_AWAY) {
            // Before going live the relay has not begun: the server's close of both channels ends it.
            if (live) {
                goingAway();
            }
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (live) {
            inactive();
        } else {
            hold(INACTIVE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (live) {
            onException(cause);
        } else {
            hold(cause);
        }
    }

    /** From now on events are handled as they come. Both sides go live before either replays. */
    final void goLive() {
        live = true;
    }

    /** Handles, in order, what arrived before the relay went live. */
    final void replay() {
        if (held != null) {
            Object event;
            while ((event = held.poll()) != null) {
                if (event == INPUT_SHUTDOWN) {
                    inputShutdown();
                } else if (event == INACTIVE) {
                    inactive();
                } else if (event instanceof Throwable cause) {
                    onException(cause);
                } else {
                    onMessage(event);
                }
            }
            held = null;
        }
    }

    /** Starts reading, and the heartbeat; a channel that closed before the relay started is handled as gone. */
    final void begin() {
        if (gone) {
            return;
        }
        if (!channel.isActive()) {
            inactive();
            return;
        }
        if (heartbeat != null && relaying()) {
            heartbeat.start();
        }
        if (sendTimeout != null) {
            // What was written before the relay started (the 101, say) may already be waiting on this side.
            sendTimeout.writabilityChanged();
        }
        ctx.flush();
        readMore();
    }

    /** Asks for the next read when the peer can take it, else waits for the peer's writability. */
    final void readMore() {
        if (gone || inputShutdown || !channel.isActive()) {
            return;
        }
        if (!relaying() || peer.channel.isWritable()) {
            ctx.read();
        } else if (!paused) {
            paused = true;
            if (heartbeat != null) {
                heartbeat.pause();
            }
        }
    }

    /** The peer drained: read again if reading was paused for it. */
    final void resume() {
        if (paused) {
            paused = false;
            if (heartbeat != null) {
                heartbeat.resume();
            }
            readMore();
        }
    }

    /** Reading no longer waits for the peer (it is closing or gone). */
    final void unpause() {
        if (paused) {
            paused = false;
            readMore();
        }
    }

    final void flush() {
        if (!gone) {
            ctx.flush();
        }
    }

    /** Bounds how long this connection may take to close from now on. */
    final void armCloseTimer() {
        if (closeTimer == null && !gone) {
            closeTimer = channel.eventLoop().schedule(this::closeTimedOut, closeTimeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    final void stopHeartbeat() {
        if (heartbeat != null) {
            heartbeat.stop();
        }
    }

    private void closeTimedOut() {
        WebSocketRelay.LOG.debug("{} did not finish closing in time, closing it", channel);
        channel.close();
    }

    /**
     * This side left our output unread for the send timeout. A close frame would not be read
     * either: the connection just closes, and the peer hears it went away (1001, or a FIN in RAW).
     */
    private void sendTimedOut() {
        WebSocketRelay.LOG.debug("{} left the relay's output unread for the send timeout, closing it", channel);
        channel.close();
    }

    private void inputShutdown() {
        if (!inputShutdown) {
            inputShutdown = true;
            stopHeartbeat();
            onInputShutdown();
        }
    }

    private void inactive() {
        if (gone) {
            return;
        }
        gone = true;
        stopHeartbeat();
        if (sendTimeout != null) {
            sendTimeout.stop();
        }
        if (closeTimer != null) {
            closeTimer.cancel(false);
            closeTimer = null;
        }
        peer.peerGone();
    }

    private void hold(Object event) {
        if (held == null) {
            held = new ArrayDeque<>(4);
        }
        held.add(event);
    }

    /** Drops a message this side does not relay. */
    static void discard(Object msg) {
        ReferenceCountUtil.release(msg);
    }
}
