package io.portico.server.upstream.balance;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Google's Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of a prime size {@code M}
 * that each member fills by its own permutation of the slots, taking turns, so every member owns
 * about {@code M / n} slots (weighted: a member of weight {@code w} takes {@code w} turns a round)
 * and a key's member is one array read. Removing a member from the config changes few slots beyond
 * its own (the table's "minimal disruption"); the permutations depend only on member keys, which are
 * sorted before filling, so config order does not matter.
 *
 * <p>A member's permutation is {@code (offset + j × skip) mod M} with {@code offset} and {@code skip}
 * from the MD5 of its key ({@code skip} in {@code 1..M-1}, so with {@code M} prime it visits every slot).
 *
 * <p>When a key's member is not eligible, the next members to try come from the slots of the key
 * rehashed with 1, 2, 3...; the keys of eligible members never move, and the ineligible member's keys
 * spread over all the others rather than onto one neighbour. After {@code 4n} rehashes without a
 * new member, the remaining members are tried in order, so every member is reached.
 */
final class MaglevTable<M extends Member> extends HashBalancer<M> {

    private final Table table;
    private long key;
    private int attempt;
    private int listed;
    private int scan;

    MaglevTable(List<M> members, Table table, HashOptions options) {
        super(members, options);
        this.table = table;
    }

    @Override
    void begin(long keyHash) {
        key = keyHash;
        attempt = 0;
        listed = 0;
        scan = -1;
        clearVisited();
    }

    @Override
    int next() {
        int n = array.length;
        if (listed >= n || table.entries.length == 0) {
            return -1;
        }
        int limit = 4 * n;
        while (attempt <= limit) {
            long h = attempt == 0 ? key : mix(key, attempt);
            attempt++;
            int owner = table.entries[(int) Long.remainderUnsigned(h, table.entries.length)];
            if (visit(owner)) {
                listed++;
                return owner;
            }
        }
        if (scan < 0) {
            scan = (int) Long.remainderUnsigned(key, n);
        }
        for (int k = 0; k < n; k++) {
            int i = scan;
            scan = scan + 1 == n ? 0 : scan + 1;
            if (visit(i)) {
                listed++;
                return i;
            }
        }
        return -1;
    }

    private static long mix(long h, int attempt) {
        long z = h + attempt * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Slots owned by member {@code index}; for tests. */
    int slotsOf(int index) {
        int count = 0;
        for (int e : table.entries) {
            if (e == index) {
                count++;
            }
        }
        return count;
    }

    /** The member index in each slot; for tests. */
    int[] entries() {
        return table.entries.clone();
    }

    /** The filled lookup table, built once per group and shared by its event loops. */
    static final class Table {
        /** {@code entries[slot]} is the index (in config order) of the member owning the slot. */
        final int[] entries;

        Table(List<? extends Member> members, int size) {
            int n = members.size();
            this.entries = new int[n == 0 ? 0 : size];
            if (n == 0) {
                return;
            }
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, Comparator.comparing(i -> members.get(i).key()));
            long[] offset = new long[n];
            long[] skip = new long[n];
            long[] nextJ = new long[n];
            for (int i = 0; i < n; i++) {
                byte[] d = HashKeys.md5(members.get(i).key());
                long h1 = HashKeys.littleEndianUnsigned(d, 0) | HashKeys.littleEndianUnsigned(d, 4) << 32;
                long h2 = HashKeys.littleEndianUnsigned(d, 8) | HashKeys.littleEndianUnsigned(d, 12) << 32;
                offset[i] = Long.remainderUnsigned(h1, size);
                skip[i] = Long.remainderUnsigned(h2, size - 1) + 1;
            }
            Arrays.fill(entries, -1);
            int filled = 0;
            while (true) {
                for (Integer boxed : order) {
                    int i = boxed;
                    for (int turn = 0; turn < members.get(i).weight(); turn++) {
                        int slot;
                        do {
                            slot = (int) ((offset[i] + nextJ[i] * skip[i]) % size);
                            nextJ[i]++;
                        } while (entries[slot] >= 0);
                        entries[slot] = i;
                        if (++filled == size) {
                            return;
                        }
                    }
                }
            }
        }
    }
}
