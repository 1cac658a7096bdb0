package io.portico.server.upstream.balance;

import java.util.ArrayList;
import java.util.List;

/** A backend whose load the test sets by hand. */
final class TestMember implements Member {
    private final String key;
    private final int weight;
    int inFlight;

    TestMember(String key, int weight) {
        this.key = key;
        this.weight = weight;
    }

    static List<TestMember> named(String... keys) {
        List<TestMember> list = new ArrayList<>();
        for (String k : keys) {
            list.add(new TestMember(k, 1));
        }
        return list;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public int inFlight() {
        return inFlight;
    }

    @Override
    public String toString() {
        return key;
    }
}
