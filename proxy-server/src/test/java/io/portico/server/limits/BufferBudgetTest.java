package io.portico.server.limits;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** When the budget's sampler wakes: rarely while no connection is behind, often while one is. */
class BufferBudgetTest {

    /** A gate as a connection's pipeline has one. */
    private static final class Gate extends ReadGate {
        Gate(BufferBudget budget) {
            super(budget);
        }
    }

    @Test
    void withNoConnectionBehindTheSamplerWakesOnlyForTheFullWalk() {
        try (BufferBudget budget = new BufferBudget(1 << 20, 64 << 10, 1 << 20, List.of())) {
            await().atMost(Duration.ofSeconds(5)).until(() -> budget.samples() >= 1);
            long first = budget.samples();
            // Sampling every 20 ms, as it did before, would take 25 samples in this half second.
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                    .until(() -> budget.samples() <= first + 1);
        }
    }

    @Test
    void aConnectionFallingBehindWakesTheSamplerAndIsCounted() {
        List<ReadGate> gates = new CopyOnWriteArrayList<>();
        try (BufferBudget budget = new BufferBudget(1 << 20, 64 << 10, 1 << 20, gates)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> budget.samples() >= 1);
            Gate gate = new Gate(budget);
            gates.add(gate);
            EmbeddedChannel ch = new EmbeddedChannel(gate);
            try {
                long before = budget.samples();
                // 100 KiB written and not yet sent: over the 64 KiB connection buffer, so unwritable.
                ch.write(Unpooled.wrappedBuffer(new byte[100 << 10]));
                assertThat(ch.isWritable()).isFalse();
                // The sampler wakes at once and samples every 20 ms while the connection is behind,
                // well before its next full walk a second away.
                await().atMost(Duration.ofMillis(900)).until(() -> budget.samples() >= before + 5);
                assertThat(budget.buffered()).isGreaterThanOrEqualTo(100 << 10);
            } finally {
                ch.finishAndReleaseAll();
            }
        }
    }
}
