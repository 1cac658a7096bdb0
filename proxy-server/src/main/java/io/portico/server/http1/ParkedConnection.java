package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * What stands in a keep-alive connection's pipeline while it waits between requests: instead of
 * the framing guard, the HTTP/1.1 codec and {@link ClientDeadlines} (and that handler's timer),
 * which {@link ClientDeadlines} takes out once the connection has waited
 * {@link ClientDeadlines#PARK_AFTER}. An idle connection then holds this small object and a
 * place in its event loop's {@link Waiting} list, which closes it at its keep-alive deadline, as
 * nginx keeps a waiting connection in its timer tree and frees its request buffers.
 *
 * <p>The first bytes to arrive put fresh handlers back (a new connection's state: the head's
 * deadline runs from its first byte) and go to them.
 */
final class ParkedConnection extends ChannelInboundHandlerAdapter {

    private final Waiting waiting;
    /** When the connection is closed if no byte of a request arrives (nanoTime). */
    private final long deadline;
    private ChannelHandlerContext ctx;
    private ParkedConnection prev;
    private ParkedConnection next;
    private boolean linked;

    ParkedConnection(Waiting waiting, long deadline) {
        this.waiting = waiting;
        this.deadline = deadline;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        waiting.add(this);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        waiting.remove(this);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        waiting.remove(this);
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        // The first bytes after the idle spell: the connection's HTTP/1.1 handlers go back and read them.
        ListenerContext context = waiting.context;
        ChannelPipeline pipeline = ctx.pipeline();
        try {
            pipeline.addBefore(ctx.name(), Http1ServerInitializer.FRAMING, new RequestFramingGuard());
            pipeline.addBefore(ctx.name(), Http1ServerInitializer.HTTP_CODEC, Http1ServerInitializer.newCodec(context));
            pipeline.addBefore(ctx.name(), Http1ServerInitializer.DEADLINES, new ClientDeadlines(context));
            pipeline.remove(this);
        } catch (RuntimeException e) {
            // Nobody has taken the bytes yet: they are this handler's to release.
            ReferenceCountUtil.release(msg);
            ctx.fireExceptionCaught(e);
            return;
        }
        ChannelHandlerContext framing = pipeline.context(Http1ServerInitializer.FRAMING);
        try {
            ((ChannelInboundHandler) framing.handler()).channelRead(framing, msg);
        } catch (Throwable t) {
            framing.fireExceptionCaught(t);
        }
    }

    /**
     * The parked connections of one listener context on one event loop, in deadline order (they
     * share one keep-alive timeout, so a new one almost always goes last), with one timer for the
     * earliest. Touched only by its event loop.
     */
    static final class Waiting implements Runnable {

        /** Deadlines this close together are served by one wake-up. */
        private static final long SLACK = TimeUnit.MILLISECONDS.toNanos(10);

        private final ListenerContext context;
        private final EventExecutor loop;
        private ParkedConnection head;
        private ParkedConnection tail;
        private ScheduledFuture<?> timer;
        private long timerAt;

        Waiting(ListenerContext context, EventExecutor loop) {
            this.context = context;
            this.loop = loop;
        }

        void add(ParkedConnection p) {
            if (p.linked) {
                return;
            }
            ParkedConnection after = tail;
            while (after != null && after.deadline - p.deadline > 0) {
                after = after.prev;
            }
            p.prev = after;
            p.next = after == null ? head : after.next;
            if (p.next != null) {
                p.next.prev = p;
            } else {
                tail = p;
            }
            if (after != null) {
                after.next = p;
            } else {
                head = p;
            }
            p.linked = true;
            context.lifecycle().parked(1);
            if (head == p) {
                arm(p.deadline);
            }
        }

        void remove(ParkedConnection p) {
            if (!p.linked) {
                return;
            }
            if (p.prev != null) {
                p.prev.next = p.next;
            } else {
                head = p.next;
            }
            if (p.next != null) {
                p.next.prev = p.prev;
            } else {
                tail = p.prev;
            }
            p.prev = null;
            p.next = null;
            p.linked = false;
            context.lifecycle().parked(-1);
            // A timer for a deadline that left with p fires early, finds nothing due and re-arms.
        }

        /** Closes the connections whose deadline has come, quietly (as nginx's keepalive_timeout). */
        @Override
        public void run() {
            timer = null;
            long now = System.nanoTime();
            while (head != null && now - head.deadline >= 0) {
                ParkedConnection p = head;
                remove(p);
                p.ctx.close();
            }
            if (head != null) {
                arm(Math.max(head.deadline, now + SLACK));
            }
        }

        private void arm(long at) {
            if (timer != null) {
                if (timerAt - at <= 0) {
                    return;
                }
                timer.cancel(false);
            }
            timerAt = at;
            timer = loop.schedule(this, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }
}
