package io.portico.server.upstream.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.portico.server.config.BalanceAlgorithm;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class LeastConnectionsTest {

    private static final Predicate<Member> ANY = m -> true;

    private static LoadBalancer<TestMember> balancer(List<TestMember> members) {
        return LoadBalancers.create(BalanceAlgorithm.LEAST_CONN, members, 160);
    }

    @Test
    void picksTheMemberWithFewestRequestsInFlight() {
        List<TestMember> members = TestMember.named("a", "b", "c");
        members.get(0).inFlight = 5;
        members.get(1).inFlight = 2;
        members.get(2).inFlight = 7;

        assertThat(balancer(members).pick(0, ANY).key()).isEqualTo("b");
    }

    @Test
    void weighsRequestsInFlightAgainstWeight() {
        TestMember big = new TestMember("big", 3);
        TestMember small = new TestMember("small", 1);
        big.inFlight = 6;
        small.inFlight = 3;

        assertThat(balancer(List.of(big, small)).pick(0, ANY)).isSameAs(big);
    }

    @Test
    void equallyLoadedMembersTakeTurns() {
        LoadBalancer<TestMember> lb = balancer(TestMember.named("a", "b", "c"));

        StringBuilder sequence = new StringBuilder();
        for (int i = 0; i < 9; i++) {
            sequence.append(lb.pick(0, ANY).key());
        }

        assertThat(sequence).hasToString("abcabcabc");
    }

    @Test
    void idleMembersShareByWeight() {
        LoadBalancer<TestMember> lb = balancer(List.of(new TestMember("a", 2), new TestMember("b", 1)));

        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 3000; i++) {
            counts.merge(lb.pick(0, ANY).key(), 1, Integer::sum);
        }

        assertThat(counts).containsOnly(Map.entry("a", 2000), Map.entry("b", 1000));
    }

    @Test
    void openRequestsSettleInProportionToWeight() {
        TestMember a = new TestMember("a", 3);
        TestMember b = new TestMember("b", 1);
        LoadBalancer<TestMember> lb = balancer(List.of(a, b));

        for (int i = 0; i < 400; i++) {
            lb.pick(0, ANY).inFlight++;
        }

        assertThat(a.inFlight).isEqualTo(300);
        assertThat(b.inFlight).isEqualTo(100);
    }

    @Test
    void skipsAnIneligibleMemberEvenWhenItIsIdle() {
        List<TestMember> members = TestMember.named("a", "b", "c");
        members.get(0).inFlight = 4;
        members.get(2).inFlight = 9;

        TestMember picked = balancer(members).pick(0, m -> !m.key().equals("b"));

        assertThat(picked.key()).isEqualTo("a");
    }

    @Test
    void picksNothingWhenNoMemberIsEligible() {
        assertThat(balancer(TestMember.named("a", "b")).pick(0, m -> false)).isNull();
    }
}
