package io.portico.server.upstream.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * Fewest requests in flight relative to weight, as nginx's {@code least_conn}: member a beats b when
 * {@code a.inFlight * b.weight < b.inFlight * a.weight}. When several members tie for the lowest ratio
 * (typically all idle), they take turns by smooth weighted round robin among themselves, as nginx does,
 * so equal members share the load and weights still count while the group is quiet.
 *
 * <p>Each member's in-flight count is read once per pick, since other loops change it concurrently.
 */
final class LeastConnections<M extends Member> extends WeightedMembers<M> {

    private static final int INELIGIBLE = -1;

    /** This pick's in-flight snapshot, or {@link #INELIGIBLE}. */
    private final long[] loads;
    /** Smooth round robin state for breaking ties. */
    private final long[] current;

    LeastConnections(List<M> members) {
        super(members);
        this.loads = new long[array.length];
        this.current = new long[array.length];
    }

    @Override
    @SuppressWarnings("unchecked")
    public M pick(long keyHash, Predicate<? super M> eligible) {
        Member[] a = array;
        int best = -1;
        int tied = 0;
        for (int i = 0; i < a.length; i++) {
            if (!eligible.test((M) a[i])) {
                loads[i] = INELIGIBLE;
                continue;
            }
            // Negative counts would only come from a bookkeeping bug elsewhere; treat them as idle.
            long load = Math.max(0, a[i].inFlight());
            loads[i] = load;
            if (best < 0) {
                best = i;
                tied = 1;
                continue;
            }
            long mine = load * weights[best];
            long theirs = loads[best] * weights[i];
            if (mine < theirs) {
                best = i;
                tied = 1;
            } else if (mine == theirs) {
                tied++;
            }
        }
        if (tied <= 1) {
            return best < 0 ? null : (M) a[best];
        }
        return (M) a[breakTie(best)];
    }

    /** Smooth weighted round robin over the members whose ratio equals {@code first}'s. */
    private int breakTie(int first) {
        long bestLoad = loads[first];
        int bestWeight = weights[first];
        long[] cw = current;
        int chosen = -1;
        long total = 0;
        // Ties can only come at or after the first minimum.
        for (int i = first; i < loads.length; i++) {
            long load = loads[i];
            if (load == INELIGIBLE || load * bestWeight != bestLoad * weights[i]) {
                continue;
            }
            cw[i] += weights[i];
            total += weights[i];
            if (chosen < 0 || cw[i] > cw[chosen]) {
                chosen = i;
            }
        }
        cw[chosen] -= total;
        return chosen;
    }
}
