package io.portico.server.upstream.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.portico.server.config.BalanceAlgorithm;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class SmoothWeightedRoundRobinTest {

    private static final Predicate<Member> ANY = m -> true;

    private static LoadBalancer<TestMember> balancer(TestMember... members) {
        return LoadBalancers.create(BalanceAlgorithm.ROUND_ROBIN, List.of(members), 160);
    }

    private static Map<String, Integer> count(LoadBalancer<TestMember> lb, int picks, Predicate<Member> eligible) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            TestMember m = lb.pick(0, eligible);
            counts.merge(m == null ? "none" : m.key(), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void interleavesWeights511AsNginxDoes() {
        LoadBalancer<TestMember> lb = balancer(new TestMember("a", 5), new TestMember("b", 1), new TestMember("c", 1));

        StringBuilder sequence = new StringBuilder();
        for (int i = 0; i < 14; i++) {
            sequence.append(lb.pick(0, ANY).key());
        }

        assertThat(sequence).hasToString("aabacaa" + "aabacaa");
    }

    @Test
    void splitsExactlyByWeight() {
        LoadBalancer<TestMember> lb = balancer(new TestMember("a", 3), new TestMember("b", 1));

        assertThat(count(lb, 4000, ANY)).containsOnly(Map.entry("a", 3000), Map.entry("b", 1000));
    }

    @Test
    void skipsIneligibleMembersAndSharesEvenlyAmongTheRest() {
        LoadBalancer<TestMember> lb = balancer(new TestMember("a", 1), new TestMember("b", 1), new TestMember("c", 1));

        Map<String, Integer> counts = count(lb, 1000, m -> !m.key().equals("b"));

        assertThat(counts).containsOnly(Map.entry("a", 500), Map.entry("c", 500));
    }

    @Test
    void returnsToTheWeightedShareWhenAMemberComesBack() {
        LoadBalancer<TestMember> lb = balancer(new TestMember("a", 5), new TestMember("b", 1), new TestMember("c", 1));
        count(lb, 101, m -> !m.key().equals("c"));

        Map<String, Integer> counts = count(lb, 7000, ANY);

        assertThat(counts.get("a")).isBetween(4990, 5010);
        assertThat(counts.get("b")).isBetween(990, 1010);
        assertThat(counts.get("c")).isBetween(990, 1010);
    }

    @Test
    void picksNothingWhenNoMemberIsEligible() {
        LoadBalancer<TestMember> lb = balancer(new TestMember("a", 1), new TestMember("b", 2));

        assertThat(lb.pick(0, m -> false)).isNull();
        assertThat(lb.pick(0, ANY)).isNotNull();
    }
}
