package io.portico.server.config;

/** How an upstream group picks a backend for a request. */
public enum BalanceAlgorithm {
    /** Smooth weighted round robin, as nginx's default. */
    ROUND_ROBIN,
    /** Fewest requests in flight, weighted. */
    LEAST_CONN,
    /** Power of two random choices on requests in flight. */
    P2C,
    /** A ring with virtual nodes over the hash of a request key ({@code hash.key}). */
    CONSISTENT_HASH
}
