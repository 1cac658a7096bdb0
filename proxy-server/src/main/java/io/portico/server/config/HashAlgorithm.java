package io.portico.server.config;

/** How {@code balance: consistent_hash} maps a key hash to a member. */
public enum HashAlgorithm {
    /** A ketama ring with virtual nodes (libketama, spymemcached, twemproxy). */
    KETAMA,
    /** Google's Maglev lookup table: more even spread, O(1) lookup. */
    MAGLEV
}
