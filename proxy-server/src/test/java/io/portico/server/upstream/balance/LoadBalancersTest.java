package io.portico.server.upstream.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.portico.server.config.BalanceAlgorithm;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LoadBalancersTest {

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void keepsMembersInConfigOrder(BalanceAlgorithm algorithm) {
        List<TestMember> members = TestMember.named("c", "a", "b");

        assertThat(LoadBalancers.create(algorithm, members, 160).members()).containsExactlyElementsOf(members);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void anEmptyGroupPicksNothing(BalanceAlgorithm algorithm) {
        assertThat(LoadBalancers.create(algorithm, List.<TestMember>of(), 160).pick(0, m -> true)).isNull();
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void rejectsAWeightBelowOne(BalanceAlgorithm algorithm) {
        List<TestMember> members = List.of(new TestMember("a", 1), new TestMember("b", 0));

        assertThatThrownBy(() -> LoadBalancers.create(algorithm, members, 160))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("b");
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void pickingAllocatesNothingOnceWarm(BalanceAlgorithm algorithm) {
        List<TestMember> members = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            members.add(new TestMember("10.0.0." + i + ":80", 1 + i % 3));
            members.get(i).inFlight = i % 4;
        }
        LoadBalancer<TestMember> lb = LoadBalancers.create(algorithm, members, 160);
        // One member out, so the slower paths (walking the ring, rescanning for p2c) run too.
        Predicate<TestMember> eligible = m -> m != members.get(5);
        long[] keys = new long[64];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = HashKeys.hash("/obj/" + i);
        }
        int[] sink = new int[1];
        Runnable pickMany = () -> {
            for (int i = 0; i < 50_000; i++) {
                sink[0] += lb.pick(keys[i & 63], eligible).weight();
            }
        };
        pickMany.run();

        assertThat(Allocations.bytesAllocatedBy(pickMany)).isLessThan(1024);
        assertThat(sink[0]).isPositive();
    }
}
