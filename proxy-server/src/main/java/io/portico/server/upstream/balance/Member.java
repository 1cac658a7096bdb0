package io.portico.server.upstream.balance;

/** What a balancer needs to know about a backend. */
public interface Member {

    /** Stable identity on the hash ring, e.g. {@code "10.0.0.1:8080"}; two members should not share one. */
    String key();

    /** Share of requests relative to the other members, at least 1. Balancers read it once, when built. */
    int weight();

    /** Requests in flight to this backend now, across all event loops (used by least_conn and p2c). */
    int inFlight();
}
