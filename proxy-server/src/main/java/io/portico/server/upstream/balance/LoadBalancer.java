package io.portico.server.upstream.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * Picks a backend for each request. One instance belongs to one event loop and keeps its state
 * (round robin positions, scratch arrays) without locks.
 *
 * @param <M> the member type
 */
public interface LoadBalancer<M extends Member> {

    /** The members this balancer chooses among, in config order. */
    List<M> members();

    /**
     * Picks a member for which {@code eligible.test(m)} is true, or null when none is.
     *
     * @param keyHash  the request key's hash from {@link HashKeys#hash(CharSequence)}; only consistent
     *                 hashing uses it (its low 32 bits), the others ignore it
     * @param eligible whether a member may take this request (up, not full, not already tried); the caller
     *                 passes a reusable object so that the common path allocates nothing
     */
    M pick(long keyHash, Predicate<? super M> eligible);

    /**
     * Sets {@code member}'s weight to {@code permille}/1000 of its configured weight (slow start);
     * 1000 restores it. Balancers without a share of traffic to ramp (consistent hashing) ignore it.
     */
    default void rampWeight(M member, int permille) {
    }
}
