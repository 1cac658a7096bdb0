package io.portico.server.upstream.balance;

/**
 * Spots hot keys on one event loop: a count-min sketch (4 rows of 4096 counters) over key hashes,
 * halved every second so counts follow the recent rate. A key is hot when its estimate reaches the
 * threshold, which a key gets at a steady rate between threshold/2 and threshold per second. The
 * sketch never under-counts, so a hot key is always seen; a cold key that shares all four counters
 * with hot ones can be taken for hot, which only spreads it over one more node.
 *
 * <p>One instance per event loop: plain ints, no locks.
 */
final class HotKeys {

    private static final int ROWS = 4;
    private static final int WIDTH = 4096;
    private static final long DECAY_NANOS = 1_000_000_000L;
    private static final long[] SEEDS = {
        0x9E3779B97F4A7C15L, 0xC2B2AE3D27D4EB4FL, 0x165667B19E3779F9L, 0xD6E8FEB86659FD93L,
    };

    private final int threshold;
    private final int[] counts = new int[ROWS * WIDTH];
    private long lastDecay;

    HotKeys(int threshold, long nowNanos) {
        this.threshold = threshold;
        this.lastDecay = nowNanos;
    }

    /** Counts one request for {@code keyHash}; true when the key is hot. */
    boolean hit(long keyHash, long nowNanos) {
        decay(nowNanos);
        int min = Integer.MAX_VALUE;
        for (int r = 0; r < ROWS; r++) {
            int i = r * WIDTH + slot(keyHash, r);
            int c = counts[i];
            if (c < Integer.MAX_VALUE) {
                counts[i] = ++c;
            }
            min = Math.min(min, c);
        }
        return min >= threshold;
    }

    /** The estimate for {@code keyHash} without counting. */
    int estimate(long keyHash) {
        int min = Integer.MAX_VALUE;
        for (int r = 0; r < ROWS; r++) {
            min = Math.min(min, counts[r * WIDTH + slot(keyHash, r)]);
        }
        return min;
    }

    private void decay(long nowNanos) {
        long elapsed = nowNanos - lastDecay;
        if (elapsed < DECAY_NANOS) {
            return;
        }
        long halvings = elapsed / DECAY_NANOS;
        lastDecay += halvings * DECAY_NANOS;
        int shift = (int) Math.min(31, halvings);
        int[] c = counts;
        for (int i = 0; i < c.length; i++) {
            c[i] >>>= shift;
        }
    }

    private static int slot(long keyHash, int row) {
        long h = (keyHash + 1) * SEEDS[row];
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return (int) h & (WIDTH - 1);
    }
}
