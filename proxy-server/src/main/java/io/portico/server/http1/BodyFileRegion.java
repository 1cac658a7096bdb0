package io.portico.server.http1;

import io.netty.channel.DefaultFileRegion;
import io.portico.http.cache.CachedResponse;
import io.portico.server.limits.OutputSizeEstimator;

/**
 * A stored body (or a range of it) sent from the disk tier's file with sendfile(2) (epoll, NIO) or
 * splice (io_uring) instead of being copied out of memory. It holds a reference to the stored
 * object, whose descriptor it sends from: an eviction or purge meanwhile cannot close the file
 * under it. A {@link DefaultFileRegion}, as Netty's native transports send only that type from a
 * file; its own release does not close the descriptor, which is the object's.
 */
final class BodyFileRegion extends DefaultFileRegion {

    private CachedResponse object;
    /** The connection's gate that counts these bytes as file bytes, not memory; set as it is written. */
    private ClientTrafficHandler charged;
    private long chargedBytes;

    /** Bytes {@code first} to {@code first + count - 1} of {@code object}'s body; takes a reference to it. */
    BodyFileRegion(CachedResponse object, CachedResponse.BodyFile file, long first, long count) {
        super(file.channel(), file.offset() + first, count);
        this.object = object.retain();
    }

    /**
     * Called by the connection's first handler as the region goes into its output buffer: the gate
     * counts these bytes as file bytes until the region is released.
     */
    void chargeTo(ClientTrafficHandler gate) {
        charged = gate;
        chargedBytes = OutputSizeEstimator.fileBytes(this);
        gate.fileBytesChanged(chargedBytes);
    }

    @Override
    protected void deallocate() {
        if (charged != null) {
            charged.fileBytesChanged(-chargedBytes);
            charged = null;
        }
        CachedResponse o = object;
        if (o != null) {
            object = null;
            o.release();
        }
    }
}
