package io.portico.server.config;

/**
 * The key and table for {@code balance: consistent_hash}.
 *
 * @param key              {@code uri} (path and query), {@code host}, {@code host_uri}, {@code client_ip},
 *                         {@code header:NAME} or {@code cookie:NAME}
 * @param algorithm        {@code ketama} (a ring with virtual nodes) or {@code maglev} (a lookup table)
 * @param virtualNodes     points on the ketama ring per unit of weight (ketama uses 160)
 * @param maglevTableSize  entries of the Maglev table, a prime well above 100 × members (Maglev's 65537)
 * @param boundedLoad      no member takes a request while it has more than this times the average
 *                         in-flight requests (weighted); the key then goes to the next member on the ring.
 *                         0 turns bounding off; otherwise at least 1 (Google's "consistent hashing with
 *                         bounded loads", c = 1.25)
 * @param hotKeyThreshold  requests per second (about: counts halve every second, so a steady rate of half
 *                         of it to all of it makes a key hot) above which a key is also served by its next
 *                         member, so one hot object cannot saturate one node; 0 turns this off
 */
public record HashConfig(
        @Default("uri") String key,
        @Default("ketama") HashAlgorithm algorithm,
        @Default("160") int virtualNodes,
        @Default("65537") int maglevTableSize,
        @Default("1.25") double boundedLoad,
        @Default("0") int hotKeyThreshold) {

    public HashConfig {
        if (!(key.equals("uri") || key.equals("host") || key.equals("host_uri") || key.equals("client_ip")
                || (key.startsWith("header:") && key.length() > 7)
                || (key.startsWith("cookie:") && key.length() > 7))) {
            throw new InvalidConfigException("key",
                    "must be uri, host, host_uri, client_ip, header:NAME or cookie:NAME, got '" + key + "'");
        }
        if (virtualNodes < 1 || virtualNodes > 10_000) {
            throw new InvalidConfigException("virtual_nodes", "must be 1..10000, got " + virtualNodes);
        }
        if (maglevTableSize < 101 || maglevTableSize > 5_000_011 || !isPrime(maglevTableSize)) {
            throw new InvalidConfigException("maglev_table_size", "must be a prime in 101..5000011, got " + maglevTableSize);
        }
        if (boundedLoad != 0 && !(boundedLoad >= 1 && boundedLoad <= 100)) {
            throw new InvalidConfigException("bounded_load", "must be 0 (off) or 1..100, got " + boundedLoad);
        }
        if (hotKeyThreshold < 0) {
            throw new InvalidConfigException("hot_key_threshold", "cannot be negative (0 turns it off)");
        }
    }

    private static boolean isPrime(int n) {
        if (n < 2 || n % 2 == 0) {
            return n == 2;
        }
        for (int d = 3; (long) d * d <= n; d += 2) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
