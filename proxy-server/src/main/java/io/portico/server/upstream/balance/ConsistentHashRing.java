package io.portico.server.upstream.balance;

import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * A ketama consistent hash ring: a request goes to the owner of the first ring point at or after its key's
 * hash ({@link HashKeys}), wrapping past 2^32 to the lowest point.
 *
 * <p>Points are placed as libketama, spymemcached and twemproxy place them. A member gets
 * {@code virtualNodes * weight} points; for {@code i = 0, 1, 2, ...} the MD5 digest of the UTF-8 string
 * {@code key() + "-" + i} (decimal {@code i}) yields four points, digest bytes {@code 4h..4h+3} read
 * little-endian as an unsigned 32-bit number for {@code h = 0..3}. When the count is not a multiple of four
 * the last digest gives only its first points. With weight 1 and the ketama default of 160 virtual nodes
 * this is exactly the 40 digests per server of those libraries, so for equal weights a key lands on the
 * same server as theirs. Weights differ: libketama and twemproxy scale points by a member's share of
 * the total weight, this ring gives each unit of weight {@code virtualNodes} points.
 *
 * <p>When two members hash to the same point, the later one in config order owns it, as in spymemcached
 * and the Couchbase SDKs (whose rings are maps where the last write wins); the other member's point stays
 * behind it, which only matters when the owner is ineligible.
 *
 * <p>When the owner of a key's point is not eligible, the walk goes clockwise to the next point owned by
 * an eligible member, which is where the key would land if the ineligible members were removed from the
 * config: keys of other members never move. Up to 64 members, each member is tested at most once per
 * pick; in larger groups a member can be tested again and the walk is bounded by one turn of the ring.
 *
 * <p>Immutable after construction.
 */
final class ConsistentHashRing<M extends Member> implements LoadBalancer<M> {

    private final List<M> members;
    private final Member[] array;
    /** Ring points, sorted, each stored as {@code point ^ 0x80000000} so that signed order is unsigned order. */
    private final int[] points;
    /** {@code owners[i]} is the index in {@link #array} of the member owning {@code points[i]}. */
    private final int[] owners;

    ConsistentHashRing(List<M> members, int virtualNodes) {
        if (virtualNodes < 1) {
            throw new IllegalArgumentException("virtual nodes must be at least 1, got " + virtualNodes);
        }
        this.members = members;
        this.array = members.toArray(new Member[0]);
        int n = array.length;
        long total = 0;
        for (Member m : array) {
            total += (long) virtualNodes * m.weight();
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the ring would have " + total + " points; lower virtual nodes or weights");
        }
        // High half: the biased point, so that the signed sort is unsigned point order; low half: a tie
        // order that puts later members first at equal points.
        long[] entries = new long[(int) total];
        int e = 0;
        for (int m = 0; m < n; m++) {
            long tieOrder = n - 1 - m;
            int count = virtualNodes * array[m].weight();
            String prefix = array[m].key() + "-";
            for (int i = 0; count > 0; i++) {
                byte[] digest = HashKeys.md5(prefix + i);
                for (int h = 0; h < 4 && count > 0; h++, count--) {
                    long point = HashKeys.littleEndianUnsigned(digest, 4 * h);
                    entries[e++] = (point ^ 0x8000_0000L) << 32 | tieOrder;
                }
            }
        }
        Arrays.sort(entries);
        this.points = new int[entries.length];
        this.owners = new int[entries.length];
        for (int i = 0; i < entries.length; i++) {
            points[i] = (int) (entries[i] >>> 32);
            owners[i] = n - 1 - (int) entries[i];
        }
    }

    @Override
    public List<M> members() {
        return members;
    }

    /** Number of points on the ring. */
    int size() {
        return points.length;
    }

    @Override
    @SuppressWarnings("unchecked")
    public M pick(long keyHash, Predicate<? super M> eligible) {
        int n = points.length;
        if (n == 0) {
            return null;
        }
        int start = firstAtOrAfter((int) keyHash ^ Integer.MIN_VALUE);
        if (start == n) {
            start = 0;
        }
        M owner = (M) array[owners[start]];
        if (eligible.test(owner)) {
            return owner;
        }
        return walk(start, eligible);
    }

    /** Index of the first point {@code >= key} (both biased), or {@code points.length} when none is. */
    private int firstAtOrAfter(int key) {
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (points[mid] < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Clockwise from {@code start}, whose owner was ineligible, to the first eligible owner. */
    @SuppressWarnings("unchecked")
    private M walk(int start, Predicate<? super M> eligible) {
        int n = points.length;
        int memberCount = array.length;
        int last = owners[start];
        // A bit per member index below 64 remembers who was tested, without allocating.
        long tested = last < 64 ? 1L << last : 0;
        int distinct = 1;
        for (int step = 1; step < n && distinct < memberCount; step++) {
            int i = start + step;
            if (i >= n) {
                i -= n;
            }
            int owner = owners[i];
            if (owner == last) {
                continue;
            }
            last = owner;
            if (owner < 64) {
                long bit = 1L << owner;
                if ((tested & bit) != 0) {
                    continue;
                }
                tested |= bit;
                distinct++;
            }
            M m = (M) array[owner];
            if (eligible.test(m)) {
                return m;
            }
        }
        return null;
    }
}
