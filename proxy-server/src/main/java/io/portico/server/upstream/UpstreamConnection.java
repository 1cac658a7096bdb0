package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;


/**
 * The last handler of an upstream connection's pipeline, and the connection's state: which
 * exchange owns it now, how many requests it has carried, when it went idle.
 *
 * <p>An idle connection sits in its {@link ConnectionPool} with a read pending, so a close or
 * stray bytes from the backend are seen at once and the connection leaves the pool: a connection
 * the backend closed is never handed out.
 */
public final class UpstreamConnection extends ChannelInboundHandlerAdapter implements UpstreamStream {

    private final ConnectionPool pool;
    private Channel channel;
    private UpstreamListener owner;
    private int requests;
    private boolean doNotReuse;
    private long idleSinceNanos;
    private boolean pooled;
    private final DeadlineWatch deadlines = new DeadlineWatch(() -> channel, () -> owner);

    UpstreamConnection(ConnectionPool pool) {
        this.pool = pool;
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public Backend backend() {
        return pool.backend();
    }

    /** Requests carried so far, this one included once attached. */
    public int requests() {
        return requests;
    }

    /** True when this connection carried an earlier request (a keep-alive race is possible). */
    @Override
    public boolean reused() {
        return requests > 1;
    }

    /** A request on an HTTP/1.1 connection is never known to be unprocessed once it is written. */
    @Override
    public boolean unprocessed() {
        return false;
    }

    long idleSinceNanos() {
        return idleSinceNanos;
    }

    boolean pooled() {
        return pooled;
    }

    void pooled(boolean pooled, long nowNanos) {
        this.pooled = pooled;
        this.idleSinceNanos = nowNanos;
    }

    /** Hands the connection to an exchange. */
    @Override
    public void attach(UpstreamListener listener) {
        assert channel.eventLoop().inEventLoop();
        owner = listener;
        requests++;
    }

    /**
     * Gives the connection back. It returns to the pool only when the exchange says it is clean
     * (whole request sent, whole response read, keep-alive on both ends) and the pool has room;
     * otherwise it is closed. A connection that saw any error is never reused.
     */
    @Override
    public void release(boolean reusable) {
        owner = null;
        if (reusable && !doNotReuse && channel.isActive() && requests < pool.maxRequests() && pool.offer(this)) {
            channel.read();
        } else {
            channel.close();
        }
    }

    /**
     * Makes sure the owner's deadlines are checked at or before {@code deadlineNanos}. A check
     * already due earlier is left alone and re-arms itself for the owner's next deadline when it
     * fires, so a busy keep-alive connection schedules about once per timeout period rather than
     * once per request (the trick Netty's IdleStateHandler uses).
     */
    @Override
    public void watch(long deadlineNanos) {
        deadlines.watch(deadlineNanos);
    }

    /** The framing broke: whatever the exchange says when it gives the connection back, it is closed. */
    void doNotReuse() {
        doNotReuse = true;
    }

    /** Closes the connection after an error; it never returns to the pool. */
    @Override
    public void abort() {
        owner = null;
        channel.close();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    /** Leaving the pipeline (the connection became a WebSocket relay): stop watching deadlines. */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        deadlines.cancel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamListener listener = owner;
        if (listener != null && msg instanceof HttpObject http) {
            listener.onUpstreamMessage(this, http);
            return;
        }
        // Bytes from an idle backend answer nothing we asked: the connection is unusable.
        ReferenceCountUtil.release(msg);
        pool.remove(this);
        ctx.close();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamListener listener = owner;
        if (listener != null) {
            listener.onUpstreamReadComplete(this);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamListener listener = owner;
        if (listener != null) {
            listener.onUpstreamWritabilityChanged(this);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        deadlines.cancel();
        UpstreamListener listener = owner;
        owner = null;
        if (listener != null) {
            listener.onUpstreamClosed(this);
        } else {
            pool.remove(this);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        UpstreamListener listener = owner;
        owner = null;
        if (listener != null) {
            listener.onUpstreamError(this, cause);
        } else {
            pool.remove(this);
        }
        ctx.close();
    }
}
