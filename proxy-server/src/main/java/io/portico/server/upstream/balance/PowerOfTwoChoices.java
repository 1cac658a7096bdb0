package io.portico.server.upstream.balance;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * Power of two random choices: two distinct members drawn uniformly at random among the eligible ones,
 * and the one with fewer requests in flight relative to weight wins (either, at random, on a tie). The
 * most loaded member is never chosen while another is eligible, and no member is scanned on the common
 * path, so the cost does not grow with the group.
 *
 * <p>The first draw is two members from the whole group; only when one of them is ineligible does the
 * pick count the eligible members and draw again among them, which keeps the pair uniform over eligible
 * pairs.
 */
final class PowerOfTwoChoices<M extends Member> extends WeightedMembers<M> {

    /** Eligibility snapshot for the slow path. */
    private final boolean[] ok;

    PowerOfTwoChoices(List<M> members) {
        super(members);
        this.ok = new boolean[array.length];
    }

    @Override
    @SuppressWarnings("unchecked")
    public M pick(long keyHash, Predicate<? super M> eligible) {
        Member[] arr = array;
        int n = arr.length;
        if (n <= 1) {
            return n == 1 && eligible.test((M) arr[0]) ? (M) arr[0] : null;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int a = random.nextInt(n);
        int b = random.nextInt(n - 1);
        if (b >= a) {
            b++;
        }
        if (eligible.test((M) arr[a]) && eligible.test((M) arr[b])) {
            return (M) arr[lessLoaded(a, b)];
        }
        return pickAmongEligible(random, eligible);
    }

    @SuppressWarnings("unchecked")
    private M pickAmongEligible(ThreadLocalRandom random, Predicate<? super M> eligible) {
        Member[] arr = array;
        int count = 0;
        int only = -1;
        for (int i = 0; i < arr.length; i++) {
            boolean e = eligible.test((M) arr[i]);
            ok[i] = e;
            if (e) {
                count++;
                only = i;
            }
        }
        if (count <= 1) {
            return count == 0 ? null : (M) arr[only];
        }
        int ra = random.nextInt(count);
        int rb = random.nextInt(count - 1);
        if (rb >= ra) {
            rb++;
        }
        return (M) arr[lessLoaded(nthEligible(ra), nthEligible(rb))];
    }

    private int nthEligible(int rank) {
        for (int i = 0; ; i++) {
            if (ok[i] && rank-- == 0) {
                return i;
            }
        }
    }

    /** {@code a} unless {@code b} carries less per unit of weight; {@code a} is the random one of the pair. */
    private int lessLoaded(int a, int b) {
        long la = array[a].inFlight();
        long lb = array[b].inFlight();
        return lb * weights[a] < la * weights[b] ? b : a;
    }
}
