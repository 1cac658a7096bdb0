package io.portico.server.upstream.health;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many of a group's members outlier detection may hold out at once ({@code max_ejection_percent}
 * of them, at least one unless the percentage is 0 or the group has a single member), so detection
 * never takes the whole group out. Shared by every event loop; a compare-and-set loop, no lock.
 */
public final class EjectionBudget {

    private final int max;
    private final AtomicInteger ejected = new AtomicInteger();

    public EjectionBudget(int members, int maxPercent) {
        int share = members * maxPercent / 100;
        this.max = members <= 1 || maxPercent == 0 ? 0 : Math.max(1, share);
    }

    /** Takes one slot; false when the group already has its maximum out. */
    boolean tryAcquire() {
        for (;;) {
            int n = ejected.get();
            if (n >= max) {
                return false;
            }
            if (ejected.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void release() {
        ejected.decrementAndGet();
    }

    /** Members out by ejection now. */
    public int ejected() {
        return ejected.get();
    }

    /** The most that may be out at once. */
    public int max() {
        return max;
    }
}
