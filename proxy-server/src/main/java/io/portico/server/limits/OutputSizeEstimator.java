package io.portico.server.limits;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.FileRegion;
import io.netty.channel.MessageSizeEstimator;

/**
 * Netty's default sizes for a client connection's output buffer, except that a {@link FileRegion}
 * counts the bytes it has still to send (Netty counts it as 0). A response sent from a file then
 * makes its connection unwritable as a copied one would: a pipelining client that does not read
 * cannot queue file after file, and the send timeout sees the stall. The memory budget does not
 * count these bytes (see {@link ReadGate#pendingBytes()}): they are in the page cache, not held by
 * Portico.
 */
public final class OutputSizeEstimator implements MessageSizeEstimator, MessageSizeEstimator.Handle {

    public static final OutputSizeEstimator INSTANCE = new OutputSizeEstimator();

    private OutputSizeEstimator() {
    }

    @Override
    public Handle newHandle() {
        return this;
    }

    @Override
    public int size(Object msg) {
        if (msg instanceof ByteBuf buf) {
            return buf.readableBytes();
        }
        if (msg instanceof ByteBufHolder holder) {
            return holder.content().readableBytes();
        }
        if (msg instanceof FileRegion region) {
            return fileBytes(region);
        }
        // Netty's default for anything else.
        return 8;
    }

    /** What a file region counts for in the output buffer. */
    public static int fileBytes(FileRegion region) {
        return (int) Math.min(Integer.MAX_VALUE, region.count() - region.transferred());
    }
}
