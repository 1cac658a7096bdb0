package io.portico.server.upstream.balance;

import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * What both consistent-hash balancers do on top of their table: the key's members in order of
 * preference come from the table ({@link #begin}, {@link #next}); this class takes the first that
 * is eligible and, with bounded loads, under its capacity; for a hot key it also takes the second
 * and sends the request to the less loaded of the two.
 *
 * <p><b>Bounded loads</b> (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded
 * Loads", as in Google Cloud and HAProxy's {@code hash-balance-factor}): with {@code m} requests in
 * flight over the eligible members, a member of weight {@code w} out of a total {@code W} takes the
 * request only while {@code inFlight + 1 <= ceil(c × (m + 1) × w / W)}; otherwise the key moves on
 * to its next member. The capacities add up to more than {@code m}, so some eligible member always
 * has room (other loops can race it past, in which case the key's first eligible member takes it).
 * Idle members are never over capacity, so on a quiet tier every key stays at home.
 *
 * <p>One instance per event loop; the scratch state here is that loop's.
 */
abstract class HashBalancer<M extends Member> implements LoadBalancer<M> {

    protected final List<M> members;
    protected final Member[] array;
    private final double c;
    private final HotKeys hotKeys;
    private final boolean[] ok;
    private final long[] visited;
    private boolean alternate;

    HashBalancer(List<M> members, HashOptions options) {
        this.members = members;
        this.array = members.toArray(new Member[0]);
        this.c = options.boundedLoad();
        this.hotKeys = options.hotKeyThreshold() > 0 ? new HotKeys(options.hotKeyThreshold(), System.nanoTime()) : null;
        this.ok = new boolean[array.length];
        this.visited = new long[(array.length + 63) >>> 6];
    }

    @Override
    public final List<M> members() {
        return members;
    }

    /** Starts listing the members for {@code keyHash} in preference order. */
    abstract void begin(long keyHash);

    /** The next member index for the key begun, each at most once; -1 when all were listed. */
    abstract int next();

    /** Clears the once-only marks; subclasses call it from {@link #begin}. */
    final void clearVisited() {
        Arrays.fill(visited, 0L);
    }

    /** Marks member {@code i}; false when it was already marked. */
    final boolean visit(int i) {
        long bit = 1L << i;
        int w = i >>> 6;
        if ((visited[w] & bit) != 0) {
            return false;
        }
        visited[w] |= bit;
        return true;
    }

    @Override
    @SuppressWarnings("unchecked")
    public final M pick(long keyHash, Predicate<? super M> eligible) {
        Member[] a = array;
        if (a.length == 0) {
            return null;
        }
        boolean hot = hotKeys != null && hotKeys.hit(keyHash, System.nanoTime());
        boolean bounded = c > 0 && a.length > 1;
        long load = 0;
        long totalWeight = 0;
        if (bounded) {
            for (int i = 0; i < a.length; i++) {
                boolean e = eligible.test((M) a[i]);
                ok[i] = e;
                if (e) {
                    load += Math.max(0, a[i].inFlight());
                    totalWeight += a[i].weight();
                }
            }
        }
        begin(keyHash);
        int fallback = -1;
        int chosen = -1;
        for (int i = next(); i >= 0; i = next()) {
            if (!(bounded ? ok[i] : eligible.test((M) a[i]))) {
                continue;
            }
            if (fallback < 0) {
                fallback = i;
            }
            if (bounded && overCapacity(a[i], load, totalWeight)) {
                continue;
            }
            if (!hot) {
                return (M) a[i];
            }
            if (chosen < 0) {
                chosen = i;
                continue;
            }
            return (M) a[lessLoaded(chosen, i)];
        }
        int pick = chosen >= 0 ? chosen : fallback;
        return pick < 0 ? null : (M) a[pick];
    }

    private boolean overCapacity(Member m, long load, long totalWeight) {
        double capacity = Math.ceil(c * (load + 1) * m.weight() / totalWeight);
        return m.inFlight() + 1 > capacity;
    }

    /** The less loaded per unit of weight; on a tie the two take turns. */
    private int lessLoaded(int first, int second) {
        long l1 = (long) Math.max(0, array[first].inFlight()) * array[second].weight();
        long l2 = (long) Math.max(0, array[second].inFlight()) * array[first].weight();
        if (l1 != l2) {
            return l1 < l2 ? first : second;
        }
        alternate = !alternate;
        return alternate ? first : second;
    }

    /** The hot-key estimate for {@code keyHash}, for tests; 0 when hot keys are off. */
    final int hotKeyEstimate(long keyHash) {
        return hotKeys == null ? 0 : hotKeys.estimate(keyHash);
    }
}
