package io.portico.server.limits;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The process-wide connection cap, shared by every listener's {@link ListenerGate}. At the cap
 * every listener stops accepting; the first connection to close below it lets them accept again.
 */
public final class ConnectionLimits {

    private final int maxConnections;
    private final AtomicInteger open = new AtomicInteger();
    private final List<ListenerGate> gates = new CopyOnWriteArrayList<>();

    /** @param maxConnections 0 for no cap */
    public ConnectionLimits(int maxConnections) {
        this.maxConnections = maxConnections;
    }

    /** A gate for one listener, under this cap. */
    public ListenerGate gate(String listener, int maxConnections, int maxPerIp) {
        ListenerGate g = new ListenerGate(this, listener, maxConnections, maxPerIp);
        gates.add(g);
        return g;
    }

    /** Open client connections across all listeners. */
    public int open() {
        return open.get();
    }

    boolean tryAcquire() {
        if (maxConnections <= 0) {
            open.incrementAndGet();
            return true;
        }
        while (true) {
            int n = open.get();
            if (n >= maxConnections) {
                return false;
            }
            if (open.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** True when the next connection would be over the cap. */
    boolean full() {
        return maxConnections > 0 && open.get() >= maxConnections;
    }

    void release() {
        int n = open.decrementAndGet();
        if (maxConnections > 0 && n == maxConnections - 1) {
            for (ListenerGate g : gates) {
                g.maybeResume();
            }
        }
    }

    void pauseAll() {
        for (ListenerGate g : gates) {
            g.pause();
        }
    }
}
