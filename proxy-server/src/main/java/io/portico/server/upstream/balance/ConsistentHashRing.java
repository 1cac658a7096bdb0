package io.portico.server.upstream.balance;

import java.util.Arrays;
import java.util.List;

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
 * config: keys of other members never move. Each member is tested at most once per pick, and the walk
 * is bounded by one turn of the ring. Bounded loads and hot keys work on that same clockwise order
 * ({@link HashBalancer}).
 *
 * <p>The points are immutable and shared by the event loops' balancers ({@link Points}); each balancer
 * keeps only its walk's scratch state.
 */
final class ConsistentHashRing<M extends Member> extends HashBalancer<M> {

    private final Points ring;
    private int start;
    private int step;
    private int listed;

    ConsistentHashRing(List<M> members, int virtualNodes) {
        this(members, new Points(members, virtualNodes), HashOptions.ketama(virtualNodes));
    }

    ConsistentHashRing(List<M> members, Points ring, HashOptions options) {
        super(members, options);
        this.ring = ring;
    }

    /** Number of points on the ring. */
    int size() {
        return ring.points.length;
    }

    @Override
    void begin(long keyHash) {
        int n = ring.points.length;
        int s = ring.firstAtOrAfter((int) keyHash ^ Integer.MIN_VALUE);
        start = s == n ? 0 : s;
        step = 0;
        listed = 0;
        clearVisited();
    }

    @Override
    int next() {
        int[] owners = ring.owners;
        int n = owners.length;
        while (step < n && listed < array.length) {
            int i = start + step++;
            if (i >= n) {
                i -= n;
            }
            int owner = owners[i];
            if (visit(owner)) {
                listed++;
                return owner;
            }
        }
        return -1;
    }

    /** The ring's points and their owners, built once per group and shared by its event loops. */
    static final class Points {
        /** Ring points, sorted, each stored as {@code point ^ 0x80000000} so that signed order is unsigned order. */
        final int[] points;
        /** {@code owners[i]} is the index (in config order) of the member owning {@code points[i]}. */
        final int[] owners;

        Points(List<? extends Member> members, int virtualNodes) {
            if (virtualNodes < 1) {
                throw new IllegalArgumentException("virtual nodes must be at least 1, got " + virtualNodes);
            }
            Member[] array = members.toArray(new Member[0]);
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

        /** Index of the first point {@code >= key} (both biased), or {@code points.length} when none is. */
        int firstAtOrAfter(int key) {
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
    }
}
