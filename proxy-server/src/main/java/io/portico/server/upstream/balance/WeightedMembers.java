package io.portico.server.upstream.balance;

import java.util.List;

/**
 * What the array-based balancers share: the members in config order, as an array for the hot
 * path, and their weights read once.
 */
abstract class WeightedMembers<M extends Member> implements LoadBalancer<M> {

    protected final List<M> members;
    protected final Member[] array;
    protected final int[] weights;

    WeightedMembers(List<M> members) {
        this.members = members;
        this.array = members.toArray(new Member[0]);
        this.weights = new int[array.length];
        for (int i = 0; i < array.length; i++) {
            weights[i] = array[i].weight();
        }
    }

    @Override
    public final List<M> members() {
        return members;
    }
}
