package io.portico.server.l4;

import io.netty.channel.MessageSizeEstimator;
import io.portico.server.limits.OutputSizeEstimator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Sizes what is written to one side of a spliced relay, counting the bytes splice(2) moved.
 *
 * <p>Netty's epoll splice writes an internal task per chunk into the destination channel's
 * outbound buffer. The default estimator gives such a task a nominal 8 bytes, so the channel would
 * never become unwritable and a slow reader could not push back: the source would be read (and
 * find the pipe full) in a loop. This estimator reads the task's byte count, so the outbound
 * buffer's water marks work as they do for copied buffers, and the relay learns how many bytes
 * went through. One instance per channel, set before its first write, used on its event loop only.
 */
final class SpliceSizeEstimator implements MessageSizeEstimator, MessageSizeEstimator.Handle {

    private static final String SPLICE_TASK = "io.netty.channel.epoll.AbstractEpollStreamChannel$SpliceOutTask";
    private static final Class<?> SPLICE_LENGTH_OWNER = spliceTask();
    private static final VarHandle SPLICE_LENGTH = spliceLength();

    private long splicedBytes;

    /** Whether this Netty's splice task can be read; without it the relay copies instead. */
    static boolean available() {
        return SPLICE_LENGTH != null;
    }

    @Override
    public Handle newHandle() {
        return this;
    }

    @Override
    public int size(Object msg) {
        if (SPLICE_LENGTH != null && msg.getClass() == SPLICE_LENGTH_OWNER) {
            int n = (int) SPLICE_LENGTH.get(msg);
            splicedBytes += n;
            return n;
        }
        return OutputSizeEstimator.INSTANCE.size(msg);
    }

    /** Bytes splice(2) has handed to this channel so far. */
    long splicedBytes() {
        return splicedBytes;
    }

    private static Class<?> spliceTask() {
        try {
            return Class.forName(SPLICE_TASK, false, SpliceSizeEstimator.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    private static VarHandle spliceLength() {
        if (SPLICE_LENGTH_OWNER == null) {
            return null;
        }
        try {
            Class<?> task = SPLICE_LENGTH_OWNER;
            return MethodHandles.privateLookupIn(task, MethodHandles.lookup()).findVarHandle(task, "len", int.class);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }
}
