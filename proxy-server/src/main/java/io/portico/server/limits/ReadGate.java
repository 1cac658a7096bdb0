package io.portico.server.limits;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;

/**
 * First handler of a client connection: gives the connection its output buffer size and holds
 * its reads while the {@link BufferBudget} is exceeded. A read asked for under pressure is
 * remembered and made when the pressure ends. A protocol's own first handler extends it, so that a
 * connection pays for one pipeline entry rather than two, and keeps it in a registry that the
 * budget's sampler reads (see {@link BufferBudget}).
 */
public abstract class ReadGate extends ChannelDuplexHandler {

    /** The user-defined writability bit the budget uses (0 is Netty's own). */
    private static final int BUDGET_BIT = 1;

    private final BufferBudget budget;
    private ChannelHandlerContext ctx;
    private boolean deferredRead;
    /** In the budget's sampled set: the connection is unwritable. Written on the event loop, read by the sampler. */
    private volatile boolean behind;
    /**
     * Bytes of file regions in the output buffer (sent from the page cache): they count for the
     * connection's writability but hold no memory, so the budget leaves them out. Written on the
     * event loop only, read by the sampler.
     */
    private volatile long fileBytes;

    /** A gate of {@code budget}, for one client connection. */
    protected ReadGate(BufferBudget budget) {
        this.budget = budget;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        ctx.channel().config().setWriteBufferWaterMark(budget.waterMark());
        // Responses sent from files count for writability as copied ones do (not for the budget: fileBytes).
        ctx.channel().config().setMessageSizeEstimator(OutputSizeEstimator.INSTANCE);
        if (budget.underPressure()) {
            apply(true);
        }
    }

    @Override
    public void read(ChannelHandlerContext ctx) throws Exception {
        if (budget.underPressure()) {
            deferredRead = true;
            return;
        }
        ctx.read();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        // Netty may report a change once more after the close; a closed connection is never behind.
        boolean now = !ctx.channel().isWritable() && ctx.channel().isActive();
        if (now != behind) {
            behind = now;
            if (now) {
                budget.behind(this);
            } else {
                budget.caughtUp(this);
            }
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        leaveSampledSet();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
        leaveSampledSet();
        super.handlerRemoved(ctx);
    }

    private void leaveSampledSet() {
        if (behind) {
            behind = false;
            budget.caughtUp(this);
        }
    }

    /** Called from the sampler thread; the change happens on the connection's event loop. */
    void pressureChanged(boolean on) {
        ctx.executor().execute(() -> apply(on));
    }

    private void apply(boolean on) {
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        if (out != null) {
            out.setUserDefinedWritability(BUDGET_BIT, !on);
        }
        if (!on && deferredRead && !budget.underPressure()) {
            deferredRead = false;
            ctx.read();
        }
    }

    /** Whether the connection is in the budget's sampled set (unwritable); read from the sampler thread. */
    boolean isBehind() {
        return behind;
    }

    /**
     * File bytes written into (positive) or gone from (negative) the output buffer; on the event
     * loop. See {@link OutputSizeEstimator}.
     */
    protected final void fileBytes(long delta) {
        fileBytes += delta;
    }

    /**
     * Bytes of memory this connection holds on their way to the client, read from the sampler
     * thread: by default what waits in its output buffer (file regions left out). A connection
     * without an output buffer of Netty's (a QUIC stream) counts its own, in a volatile field.
     */
    protected long pendingBytes() {
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        return out == null ? 0 : Math.max(0, out.totalPendingWriteBytes() - fileBytes);
    }
}
