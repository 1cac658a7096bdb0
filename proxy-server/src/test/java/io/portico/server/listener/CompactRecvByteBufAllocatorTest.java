package io.portico.server.listener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Portico's read-size policy must size reads exactly as Netty's adaptive one does (a connection
 * that streams an upload grows its reads to 64 KiB, an idle one shrinks them), with a smaller
 * handle.
 */
class CompactRecvByteBufAllocatorTest {

    @Test
    @SuppressWarnings("deprecation")
    void sizesEveryReadAsNettysAdaptivePolicyDoes() {
        EmbeddedChannel ch = new EmbeddedChannel();
        DefaultChannelConfig config = (DefaultChannelConfig) ch.config();
        config.setAutoRead(true);
        RecvByteBufAllocator.Handle netty = new AdaptiveRecvByteBufAllocator().maxMessagesPerRead(16).newHandle();
        RecvByteBufAllocator.Handle ours = new CompactRecvByteBufAllocator().maxMessagesPerRead(16).newHandle();
        Random random = new Random(42);
        int smallest = Integer.MAX_VALUE;
        int largest = 0;
        for (int round = 0; round < 5_000; round++) {
            netty.reset(config);
            ours.reset(config);
            // Reads of a round: full ones (more is waiting) push the guess up, short ones down.
            int reads = 1 + random.nextInt(4);
            for (int i = 0; i < reads; i++) {
                assertThat(ours.guess()).as("round %d read %d", round, i).isEqualTo(netty.guess());
                smallest = Math.min(smallest, ours.guess());
                largest = Math.max(largest, ours.guess());
                ByteBuf a = ours.allocate(UnpooledByteBufAllocator.DEFAULT);
                assertThat(a.capacity()).isEqualTo(netty.guess());
                a.release();
                int asked = ours.guess();
                netty.attemptedBytesRead(asked);
                ours.attemptedBytesRead(asked);
                // Busy and quiet spells in turn, so that the guess travels the whole table.
                boolean quiet = (round / 500) % 2 == 1;
                int got = quiet && random.nextInt(8) > 0 ? random.nextInt(64) : switch (random.nextInt(4)) {
                    case 0 -> asked;
                    case 1 -> random.nextInt(64);
                    case 2 -> -1;
                    default -> random.nextInt(asked + 1);
                };
                netty.lastBytesRead(got);
                ours.lastBytesRead(got);
                netty.incMessagesRead(1);
                ours.incMessagesRead(1);
                assertThat(ours.lastBytesRead()).isEqualTo(got);
                assertThat(ours.continueReading()).as("round %d read %d", round, i).isEqualTo(netty.continueReading());
            }
            netty.readComplete();
            ours.readComplete();
        }
        // The walk went both ways through the table.
        assertThat(smallest).isLessThanOrEqualTo(128);
        assertThat(largest).isGreaterThanOrEqualTo(32768);
        ch.finishAndReleaseAll();
    }

    @Test
    @SuppressWarnings("deprecation")
    void aStreamOfFullReadsGrowsTo64KiBAndQuietOnesShrinkTo64Bytes() {
        EmbeddedChannel ch = new EmbeddedChannel();
        RecvByteBufAllocator.Handle h = new CompactRecvByteBufAllocator().newHandle();
        assertThat(h.guess()).isEqualTo(2048);
        for (int i = 0; i < 20; i++) {
            h.reset(ch.config());
            h.attemptedBytesRead(h.guess());
            h.lastBytesRead(h.guess());
            h.readComplete();
        }
        assertThat(h.guess()).isEqualTo(65536);
        for (int i = 0; i < 200; i++) {
            h.reset(ch.config());
            h.attemptedBytesRead(h.guess());
            h.lastBytesRead(10);
            h.readComplete();
        }
        assertThat(h.guess()).isEqualTo(64);
        ch.finishAndReleaseAll();
    }
}
