package io.portico.server.upstream.balance;

import io.portico.server.config.HashAlgorithm;
import io.portico.server.config.HashConfig;

/**
 * How a consistent-hash balancer is built.
 *
 * @param algorithm        ketama ring or Maglev table
 * @param virtualNodes     ring points per unit of weight (ketama)
 * @param maglevTableSize  table entries, a prime (Maglev)
 * @param boundedLoad      the {@code c} of bounded loads, 0 for none
 * @param hotKeyThreshold  a key seen this many times within about a second on one event loop is hot;
 *                         0 for no hot-key spreading
 */
public record HashOptions(HashAlgorithm algorithm, int virtualNodes, int maglevTableSize, double boundedLoad,
                          int hotKeyThreshold) {

    /** A plain ketama ring: no bounded loads, no hot keys. */
    public static HashOptions ketama(int virtualNodes) {
        return new HashOptions(HashAlgorithm.KETAMA, virtualNodes, 65537, 0, 0);
    }

    /**
     * From a group's config; the process-wide hot-key rate is split over {@code eventLoops}, since each
     * loop counts only the requests it serves.
     */
    public static HashOptions of(HashConfig config, int eventLoops) {
        int perLoop = config.hotKeyThreshold() == 0 ? 0
                : Math.max(1, (config.hotKeyThreshold() + eventLoops - 1) / eventLoops);
        return new HashOptions(config.algorithm(), config.virtualNodes(), config.maglevTableSize(),
                config.boundedLoad(), perLoop);
    }
}
