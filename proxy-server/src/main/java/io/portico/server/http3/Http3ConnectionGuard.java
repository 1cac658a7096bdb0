package io.portico.server.http3;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http3.DefaultHttp3GoAwayFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicTransportError;
import io.portico.server.http1.ServerLifecycle;
import io.portico.server.limits.ConnectionIdleTimer;
import io.portico.server.limits.ListenerGate;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Owns one QUIC connection: counts it, registers it for graceful shutdown, and on drain sends
 * GOAWAY (RFC 9114 section 5.2) naming the first request stream it will not serve; streams below
 * it finish, the connection closes with H3_NO_ERROR once the last has, and a stream the client
 * opens after the GOAWAY is refused with H3_REQUEST_REJECTED (safe for the client to retry). The
 * same drain follows the listener's {@code keepalive_requests}-th stream.
 * Once its handshake is done it takes a place under the listener's connection caps
 * ({@code max_connections}, {@code max_connections_per_ip}, the global {@code limits.max_connections})
 * beside the TCP side's connections; over one it is closed with CONNECTION_REFUSED. Not before the
 * handshake: without Retry the source address of an Initial is not yet proven, and spoofed ones must
 * not use up another client's places. Until then it counts among the listener's handshakes in
 * progress ({@code http3.max_handshakes}, {@code http3.retry_threshold}), from its first Initial to
 * its handshake's end or its close, whichever comes first; and a handshake not done within the
 * listener's {@code tls.handshake_timeout} is ended there (CONNECTION_CLOSE with the transport error
 * CONNECTION_REFUSED, counted as {@code handshake_timeout}), as a TCP connection's TLS handshake is,
 * rather than at QUIC's idle timeout, which every packet of a trickling client restarts.
 */
final class Http3ConnectionGuard extends ChannelInboundHandlerAdapter {

    private final Http3Counters counters;
    private final ServerLifecycle lifecycle;
    /** Whether the listener is draining on its own (a reload removed it). */
    private final BooleanSupplier listenerDraining;
    private final ListenerGate gate;
    /** Whether the connection holds a place under the caps ({@link #clientIp} its address). */
    private boolean admitted;
    private InetAddress clientIp;
    private boolean counted;
    private QuicChannel channel;
    private int openStreams;
    /** Request streams served on this connection. */
    private int streamsSeen;
    /** The listener's keepalive_requests of the moment: streams a connection serves before GOAWAY. */
    private final IntSupplier maxRequests;
    /** The highest client request stream id seen, -1 before the first. */
    private long lastStreamId = -1;
    private boolean draining;
    private long goAwayId;
    /** The listener's keepalive_timeout of the moment: how long the connection may have no stream open. */
    private final LongSupplier idleNanos;
    /**
     * Drains the connection (GOAWAY, then CONNECTION_CLOSE with H3_NO_ERROR) once it has had no
     * stream open for keepalive_timeout, as an idle HTTP/1.1 or HTTP/2 connection is closed: QUIC's
     * own idle timeout restarts with every packet, so a client sending only PINGs held its
     * connection, and its place under the listener's caps, for good.
     */
    private ConnectionIdleTimer idleTimer;
    /** Counted among the handshakes in progress (see {@link #handshakeOver()}). */
    private boolean handshaking = true;
    /** The listener's tls.handshake_timeout when the connection began. */
    private final long handshakeTimeoutNanos;
    /** Ends the handshake at {@link #handshakeTimeoutNanos}; cancelled when it is over. */
    private ScheduledFuture<?> handshakeDeadline;

    /**
     * @param gate        the listener's connection caps, or null for none
     * @param maxRequests request streams one connection serves before it is drained (keepalive_requests)
     * @param handshakeTimeoutNanos how long the QUIC handshake may take (the listener's tls.handshake_timeout)
     */
    Http3ConnectionGuard(Http3Counters counters, ServerLifecycle lifecycle, BooleanSupplier listenerDraining,
                         ListenerGate gate, IntSupplier maxRequests, LongSupplier idleNanos,
                         long handshakeTimeoutNanos) {
        this.handshakeTimeoutNanos = handshakeTimeoutNanos;
        this.idleNanos = idleNanos;
        this.counters = counters;
        this.maxRequests = maxRequests;
        this.gate = gate;
        this.lifecycle = lifecycle;
        this.listenerDraining = listenerDraining;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        // A handshake that fails never makes the connection active: its close ends the count.
        ctx.channel().closeFuture().addListener(f -> handshakeOver());
        if (ctx.channel().isOpen()) {
            handshakeDeadline = ctx.executor().schedule(() -> handshakeTimedOut(ctx), handshakeTimeoutNanos,
                    TimeUnit.NANOSECONDS);
        }
    }

    /** The handshake is done or the connection gone: once only, on the connection's event loop. */
    private void handshakeOver() {
        if (handshaking) {
            handshaking = false;
            counters.handshakeEnded();
            if (handshakeDeadline != null) {
                handshakeDeadline.cancel(false);
                handshakeDeadline = null;
            }
        }
    }

    /**
     * The handshake has run out of time (a client that went quiet after its Initial, or trickles):
     * closed with CONNECTION_CLOSE (in the Initial or Handshake packets quiche has keys for; as a
     * transport error, since an application close is not allowed before the handshake is done),
     * so its place under http3.max_handshakes is free at once.
     */
    private void handshakeTimedOut(ChannelHandlerContext ctx) {
        handshakeDeadline = null;
        QuicChannel connection = (QuicChannel) ctx.channel();
        if (!handshaking || !connection.isOpen()) {
            return;
        }
        counters.handshakeTimeout();
        connection.close(false, (int) QuicTransportError.CONNECTION_REFUSED.code(),
                Unpooled.copiedBuffer("handshake timeout", StandardCharsets.US_ASCII));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        handshakeOver();
        channel = (QuicChannel) ctx.channel();
        if (gate != null) {
            InetAddress ip = channel.remoteSocketAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
            if (!gate.admit(ip)) {
                counters.connectionRefused();
                // Before the HTTP/3 handler hears of it: no control stream, no SETTINGS, just the close.
                channel.close(false, (int) QuicTransportError.CONNECTION_REFUSED.code(),
                        Unpooled.copiedBuffer("over the listener's connection limit", StandardCharsets.US_ASCII));
                return;
            }
            admitted = true;
            clientIp = ip;
        }
        counted = true;
        counters.connectionOpened();
        lifecycle.connectionOpened(channel);
        if (lifecycle.draining() || listenerDraining.getAsBoolean()) {
            drain();
        }
        idleTimer = new ConnectionIdleTimer(ctx.executor(), idleNanos,
                () -> !channel.isActive() || openStreams > 0 || draining, this::drain);
        idleTimer.idle();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (idleTimer != null) {
            idleTimer.cancel();
        }
        if (admitted) {
            admitted = false;
            gate.leave(clientIp);
        }
        if (counted) {
            counted = false;
            counters.connectionClosed();
        }
        ctx.fireChannelInactive();
    }

    /**
     * A new request stream; called on the connection's event loop before its handlers are added.
     *
     * @return false when the stream arrived after GOAWAY and has been refused
     */
    boolean streamOpened(QuicStreamChannel stream) {
        if (draining && stream.streamId() >= goAwayId) {
            counters.streamRefused();
            stream.shutdown(Http3ErrorCode.H3_REQUEST_REJECTED.code()).addListener(f -> stream.close());
            return false;
        }
        counters.streamOpened();
        lastStreamId = Math.max(lastStreamId, stream.streamId());
        openStreams++;
        stream.closeFuture().addListener(f -> streamClosed());
        if (++streamsSeen == maxRequests.getAsInt()) {
            // This stream is served; the client opens its next ones on a new connection (as nginx's
            // keepalive_requests does for HTTP/3), so one connection cannot open and reset streams
            // for ever at the cost of one handshake.
            drain();
        }
        return true;
    }

    private void streamClosed() {
        openStreams--;
        if (draining && openStreams == 0) {
            closeGracefully();
        } else if (openStreams == 0 && channel.isActive()) {
            idleTimer.idle();
        }
    }

    /** A failed handshake (no client certificate, a name the listener rejects) or a connection error: it is gone. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ServerLifecycle.DRAIN) {
            drain();
            return;
        }
        if (evt == ServerLifecycle.CLOSE_NOW) {
            // The UDP side is closing (a restart, or a drain that ran out of time): say so before
            // the socket goes, and whether streams were cut.
            Http3ErrorCode code = openStreams == 0 ? Http3ErrorCode.H3_NO_ERROR : Http3ErrorCode.H3_INTERNAL_ERROR;
            if (channel != null && channel.isOpen()) {
                channel.close(true, code.code(), Unpooled.EMPTY_BUFFER);
            } else {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void drain() {
        if (draining || channel == null) {
            return;
        }
        draining = true;
        // Client-initiated bidirectional stream ids step by 4: the next one is the first refused.
        goAwayId = lastStreamId < 0 ? 0 : lastStreamId + 4;
        QuicStreamChannel control = Http3.getLocalControlStream(channel);
        if (control == null) {
            if (openStreams == 0) {
                closeGracefully();
            }
            return;
        }
        counters.goAwaySent();
        // An idle connection closes once the GOAWAY has gone out, so the client reads why.
        control.writeAndFlush(new DefaultHttp3GoAwayFrame(goAwayId)).addListener(f -> {
            if (openStreams == 0) {
                closeGracefully();
            }
        });
    }

    private void closeGracefully() {
        if (!channel.isOpen()) {
            return;
        }
        channel.close(true, Http3ErrorCode.H3_NO_ERROR.code(), Unpooled.EMPTY_BUFFER);
    }
}
