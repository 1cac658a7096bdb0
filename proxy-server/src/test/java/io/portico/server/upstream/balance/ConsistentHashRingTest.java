package io.portico.server.upstream.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.portico.server.config.BalanceAlgorithm;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ConsistentHashRingTest {

    private static final int KEYS = 100_000;
    private static final int VNODES = 160;
    private static final Predicate<Member> ANY = m -> true;
    private static long[] hashes;

    @BeforeAll
    static void hashKeys() {
        hashes = new long[KEYS];
        for (int i = 0; i < KEYS; i++) {
            hashes[i] = HashKeys.hash("/obj/" + i);
        }
    }

    private static List<TestMember> nodes(int count) {
        List<TestMember> nodes = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            nodes.add(new TestMember("10.0.0." + i + ":8080", 1));
        }
        return nodes;
    }

    private static LoadBalancer<TestMember> ring(List<TestMember> members, int virtualNodes) {
        return LoadBalancers.create(BalanceAlgorithm.CONSISTENT_HASH, members, virtualNodes);
    }

    /** Member key each of the test keys lands on. */
    private static String[] assign(LoadBalancer<TestMember> ring, Predicate<Member> eligible) {
        String[] owners = new String[KEYS];
        for (int i = 0; i < KEYS; i++) {
            owners[i] = ring.pick(hashes[i], eligible).key();
        }
        return owners;
    }

    private static Map<String, Integer> shares(String[] owners) {
        Map<String, Integer> counts = new HashMap<>();
        for (String o : owners) {
            counts.merge(o, 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void matchesThePublishedKetamaRingOfCouchbaseSdkRfc26() {
        // Points from the RFC's verification data set (ketama-hashes.json): the ring's three lowest points
        // are 19069626 (.104), 28439255 (.101) and 36078660 (.104); 73548791 is .102's, 107634595 is .103's.
        List<TestMember> hosts = TestMember.named(
                "192.168.1.101:11210", "192.168.1.102:11210", "192.168.1.103:11210", "192.168.1.104:11210");
        ConsistentHashRing<TestMember> ring = new ConsistentHashRing<>(hosts, VNODES);

        assertThat(ring.size()).isEqualTo(640);
        assertThat(ring.pick(0, ANY).key()).isEqualTo("192.168.1.104:11210");
        assertThat(ring.pick(19069626, ANY).key()).isEqualTo("192.168.1.104:11210");
        assertThat(ring.pick(19069627, ANY).key()).isEqualTo("192.168.1.101:11210");
        assertThat(ring.pick(28439255, ANY).key()).isEqualTo("192.168.1.101:11210");
        assertThat(ring.pick(28439256, ANY).key()).isEqualTo("192.168.1.104:11210");
        assertThat(ring.pick(73548791, ANY).key()).isEqualTo("192.168.1.102:11210");
        assertThat(ring.pick(107634595, ANY).key()).isEqualTo("192.168.1.103:11210");
        assertThat(ring.pick(0xFFFF_FFFFL, ANY).key()).isEqualTo("192.168.1.104:11210");
    }

    @Test
    void givesACollidingPointToTheLaterMemberAsSpymemcachedAndCouchbaseDo() {
        // From the Couchbase Java SDK's ketama tests: both keys put a point at 1723476360.
        long collision = 1723476360L;

        LoadBalancer<TestMember> ring = ring(TestMember.named("example.com:11210", "example137723.com:11210"), VNODES);
        LoadBalancer<TestMember> reversed = ring(TestMember.named("example137723.com:11210", "example.com:11210"), VNODES);

        assertThat(ring.pick(collision, ANY).key()).isEqualTo("example137723.com:11210");
        assertThat(reversed.pick(collision, ANY).key()).isEqualTo("example.com:11210");
        assertThat(ring.pick(collision, m -> !m.key().startsWith("example137723")).key())
                .isEqualTo("example.com:11210");
    }

    @Test
    void agreesWithAStraightforwardKetamaForEveryKey() {
        List<List<TestMember>> groups = List.of(
                nodes(5),
                List.of(new TestMember("a:1", 1), new TestMember("b:1", 2), new TestMember("c:1", 3)),
                List.of(new TestMember("\u00fcber-host:80", 1), new TestMember("plain:80", 1)));
        for (List<TestMember> group : groups) {
            for (int vnodes : new int[] {1, 3, 10, 160}) {
                LoadBalancer<TestMember> ring = ring(group, vnodes);
                KetamaReference reference = new KetamaReference(group, vnodes);
                for (int i = 0; i < 20_000; i++) {
                    assertThat(ring.pick(hashes[i], ANY).key())
                            .as("key /obj/%d on %s with %d virtual nodes", i, group, vnodes)
                            .isEqualTo(reference.lookup(hashes[i]));
                }
            }
        }
    }

    @Test
    void spreadsKeysWithinFifteenPercentOfAnEvenShare() {
        Map<String, Integer> shares = shares(assign(ring(nodes(5), VNODES), ANY));

        assertThat(shares).hasSize(5);
        assertThat(shares.values()).allSatisfy(count -> assertThat(count).isBetween(17_000, 23_000));
    }

    @Test
    void removingANodeMovesOnlyItsKeys() {
        List<TestMember> five = nodes(5);
        String[] before = assign(ring(five, VNODES), ANY);
        String removed = five.get(2).key();
        List<TestMember> four = new ArrayList<>(five);
        four.remove(2);

        String[] after = assign(ring(four, VNODES), ANY);

        int moved = 0;
        for (int i = 0; i < KEYS; i++) {
            if (!before[i].equals(removed)) {
                assertThat(after[i]).as("key /obj/%d", i).isEqualTo(before[i]);
            } else {
                moved++;
            }
        }
        // About 1/5 of the keys, within the same 15% as the spread.
        assertThat(moved).isBetween(17_000, 23_000);
    }

    @Test
    void addingANodeMovesKeysOnlyOntoIt() {
        List<TestMember> six = nodes(6);
        String[] before = assign(ring(six.subList(0, 5), VNODES), ANY);
        String added = six.get(5).key();

        String[] after = assign(ring(six, VNODES), ANY);

        int moved = 0;
        for (int i = 0; i < KEYS; i++) {
            if (!after[i].equals(before[i])) {
                assertThat(after[i]).as("key /obj/%d", i).isEqualTo(added);
                moved++;
            }
        }
        // About 1/6 of the keys (16,667), within 15%.
        assertThat(moved).isBetween(14_167, 19_167);
    }

    @Test
    void doubleWeightTakesAboutTwiceTheKeys() {
        List<TestMember> members = List.of(
                new TestMember("heavy:80", 2), new TestMember("light1:80", 1), new TestMember("light2:80", 1));

        Map<String, Integer> shares = shares(assign(ring(members, VNODES), ANY));

        // Expected 50,000 / 25,000 / 25,000.
        assertThat(shares.get("heavy:80")).isBetween(45_000, 55_000);
        assertThat(shares.get("light1:80")).isBetween(21_250, 28_750);
        assertThat(shares.get("light2:80")).isBetween(21_250, 28_750);
    }

    @Test
    void anIneligibleNodesKeysGoToTheNextNodesAndNoOtherKeyMoves() {
        List<TestMember> five = nodes(5);
        LoadBalancer<TestMember> ring = ring(five, VNODES);
        String down = five.get(3).key();
        String[] before = assign(ring, ANY);
        List<TestMember> withoutDown = new ArrayList<>(five);
        withoutDown.remove(3);
        String[] withoutDownOwners = assign(ring(withoutDown, VNODES), ANY);

        String[] after = assign(ring, m -> !m.key().equals(down));

        Set<String> takers = new HashSet<>();
        for (int i = 0; i < KEYS; i++) {
            assertThat(after[i]).as("key /obj/%d", i).isEqualTo(withoutDownOwners[i]);
            if (before[i].equals(down)) {
                takers.add(after[i]);
            } else {
                assertThat(after[i]).as("key /obj/%d", i).isEqualTo(before[i]);
            }
        }
        assertThat(takers).hasSize(4);
    }

    @Test
    void findsTheOnlyEligibleMemberOfALargeGroup() {
        LoadBalancer<TestMember> ring = ring(nodes(100), 40);

        for (String only : List.of("10.0.0.4:8080", "10.0.0.100:8080")) {
            for (int i = 0; i < 1000; i++) {
                assertThat(ring.pick(hashes[i], m -> m.key().equals(only)).key()).isEqualTo(only);
            }
        }
        assertThat(ring.pick(hashes[0], m -> false)).isNull();
    }

    @Test
    void configOrderDoesNotChangeWhereKeysGo() {
        List<TestMember> five = nodes(5);
        List<TestMember> shuffled = List.of(five.get(3), five.get(0), five.get(4), five.get(2), five.get(1));

        assertThat(assign(ring(shuffled, VNODES), ANY)).isEqualTo(assign(ring(five, VNODES), ANY));
    }

    @Test
    void picksNothingFromAnEmptyGroupOrWhenAllAreOut() {
        assertThat(ring(List.of(), VNODES).pick(hashes[0], ANY)).isNull();
        assertThat(ring(nodes(3), VNODES).pick(hashes[0], m -> false)).isNull();
    }
}
