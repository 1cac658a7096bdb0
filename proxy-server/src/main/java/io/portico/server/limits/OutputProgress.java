package io.portico.server.limits;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;

/**
 * What a channel's output buffer looked like at the last look: its first entry, its total and how
 * much of the first entry has been written. A slow reader takes a large buffer or a file region a
 * part at a time, which leaves the total as it was, so a timeout that watches output must look at
 * the first entry's progress too, as Netty's IdleStateHandler does. Used on the channel's event
 * loop only.
 */
public final class OutputProgress {

    private int first;
    private long pending;
    private long written;

    /** Takes the buffer's state as the one to compare with next. */
    public void reset(Channel ch) {
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        if (out == null) {
            first = 0;
            pending = 0;
            written = 0;
        } else {
            take(out);
        }
    }

    /**
     * Whether the output moved at all since the last look (another first entry, another total, more
     * of the first entry written); false for a channel without an output buffer (closed).
     */
    public boolean moved(Channel ch) {
        ChannelOutboundBuffer out = ch == null ? null : ch.unsafe().outboundBuffer();
        if (out == null) {
            return false;
        }
        int wasFirst = first;
        long wasPending = pending;
        long wasWritten = written;
        take(out);
        return first != wasFirst || pending != wasPending || written != wasWritten;
    }

    /**
     * Whether the peer took bytes since the last look: nothing is left, the total fell, or more of
     * the same first entry was written (new writes making the total grow are not the peer's doing).
     */
    public boolean drained(Channel ch) {
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        if (out == null) {
            return true;
        }
        int wasFirst = first;
        long wasPending = pending;
        long wasWritten = written;
        take(out);
        return pending == 0 || pending < wasPending || (first == wasFirst && written > wasWritten);
    }

    private void take(ChannelOutboundBuffer out) {
        first = System.identityHashCode(out.current());
        pending = out.totalPendingWriteBytes();
        written = out.currentProgress();
    }
}
