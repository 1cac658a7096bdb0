package io.portico.server.upstream.balance;

import io.portico.server.config.BalanceAlgorithm;
import io.portico.server.config.HashAlgorithm;
import java.util.List;
import java.util.function.Supplier;

/** Creates the balancer for an upstream group's {@code balance} setting. */
public final class LoadBalancers {

    private LoadBalancers() {
    }

    /**
     * Creates a balancer over {@code members}, for use on one event loop.
     *
     * @param algorithm    which algorithm
     * @param members      the members in config order; may be empty (every pick then returns null)
     * @param virtualNodes ring points per unit of weight; used only by {@link BalanceAlgorithm#CONSISTENT_HASH}
     * @throws IllegalArgumentException when a member's weight is below 1, or the ring would be too large
     */
    public static <M extends Member> LoadBalancer<M> create(BalanceAlgorithm algorithm, List<M> members,
                                                            int virtualNodes) {
        return factory(algorithm, members, HashOptions.ketama(virtualNodes)).get();
    }

    /**
     * A source of balancers over {@code members}, one per event loop. What can be shared (a hash ring
     * or Maglev table) is built once, now; each balancer from the supplier has its own scratch state.
     *
     * @param hash used only by {@link BalanceAlgorithm#CONSISTENT_HASH}
     * @throws IllegalArgumentException when a member's weight is below 1, or the ring would be too large
     */
    public static <M extends Member> Supplier<LoadBalancer<M>> factory(BalanceAlgorithm algorithm, List<M> members,
                                                                       HashOptions hash) {
        List<M> copy = List.copyOf(members);
        for (M m : copy) {
            if (m.weight() < 1) {
                throw new IllegalArgumentException("weight of " + m.key() + " must be at least 1, got " + m.weight());
            }
        }
        switch (algorithm) {
            case ROUND_ROBIN:
                return () -> new SmoothWeightedRoundRobin<>(copy);
            case LEAST_CONN:
                return () -> new LeastConnections<>(copy);
            case P2C:
                return () -> new PowerOfTwoChoices<>(copy);
            case CONSISTENT_HASH:
                if (hash.algorithm() == HashAlgorithm.MAGLEV) {
                    MaglevTable.Table table = new MaglevTable.Table(copy, hash.maglevTableSize());
                    return () -> new MaglevTable<>(copy, table, hash);
                }
                ConsistentHashRing.Points points = new ConsistentHashRing.Points(copy, hash.virtualNodes());
                return () -> new ConsistentHashRing<>(copy, points, hash);
            default:
                throw new IllegalArgumentException("unknown balance algorithm " + algorithm);
        }
    }
}
