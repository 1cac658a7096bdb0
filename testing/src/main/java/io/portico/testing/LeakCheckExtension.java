package io.portico.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

/**
 * Fails a test class when Netty reported a buffer leak while it ran. Registered for every test
 * through JUnit's extension auto-detection (see {@code META-INF/services}).
 *
 * <p>Paranoid leak detection only notices a leak when the leaked buffer has been collected and a
 * later allocation polls the reference queue, so the check collects garbage and allocates a few
 * tracked buffers before it asks.
 */
public final class LeakCheckExtension implements AfterAllCallback {

    @Override
    public void afterAll(ExtensionContext context) {
        for (int round = 0; round < 3; round++) {
            System.gc();
            System.runFinalization();
            for (int i = 0; i < 64; i++) {
                ByteBuf pooled = PooledByteBufAllocator.DEFAULT.directBuffer(16);
                ByteBuf heap = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
                pooled.release();
                heap.release();
            }
        }
        List<String> leaks = FailingLeakDetector.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError("Netty reported " + leaks.size() + " buffer leak(s) during "
                    + context.getDisplayName() + ":\n" + String.join("\n\n", leaks));
        }
    }
}
