package io.portico.server.upstream.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.portico.server.config.BalanceAlgorithm;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class PowerOfTwoChoicesTest {

    private static final int PICKS = 100_000;
    private static final Predicate<Member> ANY = m -> true;

    private static LoadBalancer<TestMember> balancer(List<TestMember> members) {
        return LoadBalancers.create(BalanceAlgorithm.P2C, members, 160);
    }

    private static int[] count(List<TestMember> members, Predicate<Member> eligible) {
        LoadBalancer<TestMember> lb = balancer(members);
        int[] counts = new int[members.size()];
        for (int i = 0; i < PICKS; i++) {
            counts[members.indexOf(lb.pick(0, eligible))]++;
        }
        return counts;
    }

    @Test
    void favoursLessLoadedMembersAndNeverPicksTheBusiest() {
        List<TestMember> members = TestMember.named("a", "b", "c", "d");
        for (int i = 0; i < 4; i++) {
            members.get(i).inFlight = i;
        }

        int[] counts = count(members, ANY);

        // Of the 6 equally likely pairs, a wins 3, b wins 2, c wins 1, d none: 50%, 33.3%, 16.7%, 0%.
        assertThat(counts[0]).isBetween(48_500, 51_500);
        assertThat(counts[1]).isBetween(31_833, 34_833);
        assertThat(counts[2]).isBetween(15_167, 18_167);
        assertThat(counts[3]).isZero();
    }

    @Test
    void spreadsEquallyLoadedMembersWithinFivePercentOfEven() {
        List<TestMember> members = TestMember.named("a", "b", "c", "d");
        members.forEach(m -> m.inFlight = 2);

        int[] counts = count(members, ANY);

        for (int c : counts) {
            assertThat(c).isBetween(23_750, 26_250);
        }
    }

    @Test
    void weighsRequestsInFlightAgainstWeight() {
        TestMember big = new TestMember("big", 4);
        TestMember small = new TestMember("small", 1);
        big.inFlight = 4;
        small.inFlight = 2;

        int[] counts = count(List.of(big, small), ANY);

        assertThat(counts[0]).isEqualTo(PICKS);
    }

    @Test
    void sharesEvenlyAmongTheEligibleWhenSomeAreOut() {
        List<TestMember> members = TestMember.named("a", "b", "c", "d", "e");

        int[] counts = count(members, m -> !m.key().equals("c"));

        assertThat(counts[2]).isZero();
        for (int i : new int[] {0, 1, 3, 4}) {
            assertThat(counts[i]).isBetween(23_750, 26_250);
        }
    }

    @Test
    void comparesTheTwoEligibleMembersWhenTheRestAreOut() {
        List<TestMember> members = TestMember.named("a", "b", "c", "d", "e", "f");
        members.get(1).inFlight = 3;
        members.get(4).inFlight = 1;

        int[] counts = count(members, m -> m.key().equals("b") || m.key().equals("e"));

        assertThat(counts[4]).isEqualTo(PICKS);
    }

    @Test
    void picksTheOnlyEligibleMember() {
        List<TestMember> members = TestMember.named("a", "b", "c");
        members.get(1).inFlight = 50;
        LoadBalancer<TestMember> lb = balancer(members);

        for (int i = 0; i < 1000; i++) {
            assertThat(lb.pick(0, m -> m.key().equals("b")).key()).isEqualTo("b");
        }
        assertThat(balancer(TestMember.named("solo")).pick(0, ANY).key()).isEqualTo("solo");
    }

    @Test
    void picksNothingWhenNoMemberIsEligible() {
        assertThat(balancer(TestMember.named("a", "b", "c")).pick(0, m -> false)).isNull();
        assertThat(balancer(TestMember.named("solo")).pick(0, m -> false)).isNull();
    }
}
