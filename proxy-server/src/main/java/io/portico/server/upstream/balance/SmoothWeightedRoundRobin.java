package io.portico.server.upstream.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * nginx's smooth weighted round robin ({@code ngx_http_upstream_get_peer}): on each pick every eligible
 * member's current weight grows by its weight, the member with the largest current weight wins (the
 * first in config order on a tie) and its current weight drops by the total of the eligible weights.
 * Weights 5, 1, 1 give a a b a c a a, interleaving rather than bunching.
 *
 * <p>An ineligible member is left out of that pick entirely, as nginx leaves out a peer that is down:
 * its current weight stays where it was and the total covers only the eligible members. nginx's
 * effective weight (lowered after failures) is not modelled; failures show up here as ineligibility.
 */
final class SmoothWeightedRoundRobin<M extends Member> extends WeightedMembers<M> {

    private final long[] current;

    SmoothWeightedRoundRobin(List<M> members) {
        super(members);
        this.current = new long[array.length];
    }

    @Override
    @SuppressWarnings("unchecked")
    public M pick(long keyHash, Predicate<? super M> eligible) {
        Member[] a = array;
        long[] cw = current;
        int best = -1;
        long total = 0;
        for (int i = 0; i < a.length; i++) {
            if (!eligible.test((M) a[i])) {
                continue;
            }
            int w = weights[i];
            cw[i] += w;
            total += w;
            if (best < 0 || cw[i] > cw[best]) {
                best = i;
            }
        }
        if (best < 0) {
            return null;
        }
        cw[best] -= total;
        return (M) a[best];
    }
}
