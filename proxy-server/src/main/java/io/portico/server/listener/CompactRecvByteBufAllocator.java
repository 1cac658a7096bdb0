package io.portico.server.listener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * Netty's {@link AdaptiveRecvByteBufAllocator} policy (the same table of sizes, the same steps up
 * and down, 64 B to 64 KiB starting at 2 KiB), with a handle of one object per connection where
 * Netty's takes three: its handle, an {@code AdaptiveCalculator} and a "maybe more data" supplier,
 * 112 bytes that every connection keeps from its first read until it closes. This one is 48. An
 * idle keep-alive connection's memory is one of the figures Portico is measured on (bin/bench
 * --suite idle), and Netty has no smaller policy that still adapts.
 *
 * <p>Only for accepted stream connections: it counts bytes read (a datagram channel's allocator
 * must not), and the policy object itself holds no per-connection state, so one serves them all.
 */
public final class CompactRecvByteBufAllocator extends DefaultMaxMessagesRecvByteBufAllocator {

    /** As Netty's AdaptiveCalculator: 16 to 496 in steps of 16, then powers of two from 512. */
    private static final int[] SIZE_TABLE;

    static {
        int[] table = new int[31 + 22];
        int n = 0;
        for (int i = 16; i < 512; i += 16) {
            table[n++] = i;
        }
        for (int i = 512; i > 0; i <<= 1) {
            table[n++] = i;
        }
        SIZE_TABLE = java.util.Arrays.copyOf(table, n);
    }

    private static final int INDEX_INCREMENT = 4;
    private static final int INDEX_DECREMENT = 1;

    private final int minIndex;
    private final int maxIndex;
    private final int initialIndex;
    private final int minimum;
    private final int maximum;

    /** Netty's defaults: 64 B to 64 KiB, starting at 2 KiB. */
    public CompactRecvByteBufAllocator() {
        this(AdaptiveRecvByteBufAllocator.DEFAULT_MINIMUM, AdaptiveRecvByteBufAllocator.DEFAULT_INITIAL,
                AdaptiveRecvByteBufAllocator.DEFAULT_MAXIMUM);
    }

    CompactRecvByteBufAllocator(int minimum, int initial, int maximum) {
        if (minimum <= 0 || initial < minimum || maximum < initial) {
            throw new IllegalArgumentException("minimum " + minimum + ", initial " + initial + ", maximum " + maximum);
        }
        int min = indexOf(minimum);
        this.minIndex = SIZE_TABLE[min] < minimum ? min + 1 : min;
        int max = indexOf(maximum);
        this.maxIndex = SIZE_TABLE[max] > maximum ? max - 1 : max;
        int init = indexOf(initial);
        this.initialIndex = SIZE_TABLE[init] > initial ? init - 1 : init;
        this.minimum = minimum;
        this.maximum = maximum;
    }

    /** The index of the smallest size in the table at least {@code size} (the last if none is). */
    private static int indexOf(int size) {
        for (int low = 0, high = SIZE_TABLE.length - 1; ; ) {
            if (high < low) {
                return low;
            }
            if (high == low) {
                return high;
            }
            int mid = (low + high) >>> 1;
            int a = SIZE_TABLE[mid];
            int b = SIZE_TABLE[mid + 1];
            if (size > b) {
                low = mid + 1;
            } else if (size < a) {
                high = mid - 1;
            } else if (size == a) {
                return mid;
            } else {
                return mid + 1;
            }
        }
    }

    @Override
    @SuppressWarnings("deprecation")
    public RecvByteBufAllocator.Handle newHandle() {
        return new Handle();
    }

    /** One connection's read state: the bookkeeping of Netty's MaxMessageHandle and the adaptive guess. */
    private final class Handle implements RecvByteBufAllocator.ExtendedHandle, UncheckedBooleanSupplier {

        private ChannelConfig config;
        private int totalMessages;
        private int totalBytesRead;
        private int attemptedBytesRead;
        private int lastBytesRead;
        private int index = initialIndex;
        private int nextSize = Math.max(SIZE_TABLE[initialIndex], minimum);
        private boolean decreaseNow;

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return alloc.ioBuffer(nextSize);
        }

        @Override
        public int guess() {
            return nextSize;
        }

        @Override
        public void reset(ChannelConfig config) {
            this.config = config;
            totalMessages = 0;
            totalBytesRead = 0;
        }

        @Override
        public void incMessagesRead(int numMessages) {
            totalMessages += numMessages;
        }

        @Override
        public void lastBytesRead(int bytes) {
            // A read that filled its buffer may mean more is waiting: grow before the next one.
            if (bytes == attemptedBytesRead) {
                record(bytes);
            }
            lastBytesRead = bytes;
            if (bytes > 0) {
                totalBytesRead += bytes;
            }
        }

        @Override
        public int lastBytesRead() {
            return lastBytesRead;
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            attemptedBytesRead = bytes;
        }

        @Override
        public int attemptedBytesRead() {
            return attemptedBytesRead;
        }

        @Override
        public boolean continueReading() {
            return continueReading(this);
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return config.isAutoRead()
                    && (!respectMaybeMoreData() || maybeMoreDataSupplier.get())
                    && totalMessages < maxMessagesPerRead()
                    && totalBytesRead > 0;
        }

        /** Whether the last read filled what it asked for (Netty's "maybe more data"). */
        @Override
        public boolean get() {
            return attemptedBytesRead == lastBytesRead;
        }

        @Override
        public void readComplete() {
            record(totalBytesRead < 0 ? Integer.MAX_VALUE : totalBytesRead);
        }

        /** As Netty's AdaptiveCalculator: down a step after two small reads in a row, up four after a big one. */
        private void record(int size) {
            if (size <= SIZE_TABLE[Math.max(0, index - INDEX_DECREMENT)]) {
                if (decreaseNow) {
                    index = Math.max(index - INDEX_DECREMENT, minIndex);
                    nextSize = Math.max(SIZE_TABLE[index], minimum);
                    decreaseNow = false;
                } else {
                    decreaseNow = true;
                }
            } else if (size >= nextSize) {
                index = Math.min(index + INDEX_INCREMENT, maxIndex);
                nextSize = Math.min(SIZE_TABLE[index], maximum);
                decreaseNow = false;
            }
        }
    }
}
