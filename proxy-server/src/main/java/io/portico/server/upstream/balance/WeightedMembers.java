package io.portico.server.upstream.balance;

import java.util.List;

/**
 * What the array-based balancers share: the members in config order, as an array for the hot
 * path, and their weights read once.
 *
 * <p>Weights are kept in thousandths ({@code weight × 1000}) so slow start can ramp a member in
 * small steps; every algorithm here compares weights only with each other, so the scale does not
 * change any pick.
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
            weights[i] = array[i].weight() * SCALE;
        }
    }

    /** Weight units per unit of configured weight. */
    static final int SCALE = 1000;

    @Override
    public final void rampWeight(M member, int permille) {
        for (int i = 0; i < array.length; i++) {
            if (array[i] == member) {
                int p = Math.max(1, Math.min(SCALE, permille));
                weights[i] = Math.max(1, array[i].weight() * p);
                return;
            }
        }
    }

    @Override
    public final List<M> members() {
        return members;
    }
}
