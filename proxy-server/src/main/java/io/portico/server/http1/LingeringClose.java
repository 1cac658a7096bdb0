package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * nginx's lingering close, for a plain HTTP/1.1 connection Portico ends while the client may still
 * be sending: a 413 in the middle of an upload, a 400 for bytes the framing check refused. Closed
 * with unread bytes in its receive buffer, the socket answers them with a TCP reset, and a client
 * that gets the reset before it has read the response loses the response too (the reset empties its
 * receive buffer on many stacks), so it sees "connection reset" instead of the 413. Instead the
 * response is followed by a FIN (the output shut down), and whatever the client still sends is
 * read and dropped until it closes its side, until nothing came for {@link #TIMEOUT_MILLIS}, or
 * for {@link #TIME_MILLIS} at most (nginx's {@code lingering_timeout} and {@code lingering_time}).
 *
 * <p>A TLS connection is closed at once, as before: its close_notify would have to go out first.
 * So is one a client deadline ended (408): a client that trickles bytes would keep its slot for
 * the whole lingering time.
 */
final class LingeringClose extends ChannelInboundHandlerAdapter {

    /** nginx's {@code lingering_timeout}: how long to wait for more bytes. */
    static final long TIMEOUT_MILLIS = 5_000;
    /** nginx's {@code lingering_time}: how long to read and drop at most. */
    static final long TIME_MILLIS = 30_000;

    /** Starts a lingering close once the response's last write is done; closes at once if it failed. */
    static final ChannelFutureListener AFTER_WRITE = f -> {
        if (f.isSuccess()) {
            start(f.channel());
        } else {
            f.channel().close();
        }
    };

    private final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIME_MILLIS);
    private long lastRead = System.nanoTime();
    private ScheduledFuture<?> check;

    private LingeringClose() {
    }

    /** Shuts {@code ch}'s output and drops what it reads until the client is done, or closes it if it cannot. */
    static void start(Channel ch) {
        if (ch.pipeline().get(LingeringClose.class) != null) {
            return;
        }
        if (!ch.isActive() || !(ch instanceof DuplexChannel duplex) || ch.pipeline().get(SslHandler.class) != null
                || duplex.isInputShutdown()) {
            ch.close();
            return;
        }
        // First in the pipeline: the bytes go no further, whatever protocol handlers follow.
        ch.pipeline().addFirst("lingering-close", new LingeringClose());
        duplex.shutdownOutput().addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                f.channel().close();
            }
        });
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(true);
        check = ctx.executor().schedule(() -> check(ctx), TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        ctx.read();
    }

    private void check(ChannelHandlerContext ctx) {
        long now = System.nanoTime();
        long idle = TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS) - (now - lastRead);
        if (idle <= 0 || now - deadline >= 0) {
            ctx.close();
            return;
        }
        check = ctx.executor().schedule(() -> check(ctx), Math.min(idle, deadline - now), TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
        lastRead = System.nanoTime();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Nothing for the handlers behind this one.
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent || evt instanceof ChannelInputShutdownReadComplete) {
            // The client is done: both directions are.
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (check != null) {
            check.cancel(false);
        }
        // The handlers behind (the connection's registry entry, its counters) see the close as ever.
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
