package io.portico.server.limits;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Open things (connections, WebSockets) per client address, under a cap. An address's count is
 * taken and given back inside the map's own atomic update, so a release emptying an address's
 * entry cannot drop a slot taken at the same moment on another event loop (as a counter object
 * fetched first and changed after could: the release removes it from the map in between).
 * Thread-safe.
 */
public final class PerAddressCount {

    private final ConcurrentHashMap<InetAddress, Integer> byAddress = new ConcurrentHashMap<>();

    /** Counts one more for {@code address} unless {@code cap} (when positive) is reached; false when it is. */
    public boolean acquire(InetAddress address, int cap) {
        if (cap <= 0) {
            // Counted with nothing to refuse: a method reference and cached small Integers, no allocation.
            byAddress.merge(address, 1, Integer::sum);
            return true;
        }
        boolean[] taken = {true};
        byAddress.compute(address, (a, n) -> {
            int open = n == null ? 0 : n;
            if (open >= cap) {
                taken[0] = false;
                return n;
            }
            return open + 1;
        });
        return taken[0];
    }

    /** Gives back one slot of {@code address}. */
    public void release(InetAddress address) {
        byAddress.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
    }
}
