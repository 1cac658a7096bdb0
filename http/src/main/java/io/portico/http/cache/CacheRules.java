package io.portico.http.cache;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What an operator decided for one route, on top of what the origin's headers say.
 *
 * @param ttlByStatus      lifetimes by status code (as nginx {@code proxy_cache_valid}), used when the
 *                         origin sent no explicit freshness (or its headers are ignored); a status of
 *                         400 or more is stored only when it is listed here by code
 * @param ttlAny           lifetime for other statuses below 400 without explicit freshness; null for none
 * @param ignoreHeaders    lower-case response fields to disregard: {@code cache-control},
 *                         {@code expires}, {@code set-cookie} (the response is stored without it),
 *                         {@code vary}
 * @param maxObjectSize    larger responses are passed through, not stored
 * @param heuristicMax     cap of the heuristic lifetime (10% of the time since Last-Modified); zero
 *                         turns heuristic freshness off
 * @param staleIfError     how long past its lifetime a stored response may still answer when the
 *                         origin fails, even without a {@code stale-if-error} directive (the grace)
 * @param maxVariants      variants kept per URL for responses with {@code Vary}
 */
public record CacheRules(Map<Integer, Duration> ttlByStatus, Duration ttlAny, Set<String> ignoreHeaders,
                         long maxObjectSize, Duration heuristicMax, Duration staleIfError, int maxVariants) {

    /** No overrides, 8 MiB objects, heuristic lifetimes capped at a day, no grace, 16 variants. */
    public static final CacheRules DEFAULT = new CacheRules(Map.of(), null, Set.of(), 8L << 20,
            Duration.ofDays(1), Duration.ZERO, 16);

    public CacheRules {
        ttlByStatus = Map.copyOf(ttlByStatus);
        for (String h : ignoreHeaders) {
            if (!h.equals(h.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("ignore headers must be lower case: " + h);
            }
        }
        ignoreHeaders = Set.copyOf(ignoreHeaders);
        if (maxObjectSize <= 0) {
            throw new IllegalArgumentException("maxObjectSize must be positive");
        }
        if (maxVariants < 1) {
            throw new IllegalArgumentException("maxVariants must be at least 1");
        }
    }

    boolean ignores(String lowerCaseName) {
        return ignoreHeaders.contains(lowerCaseName);
    }

    /** The operator's lifetime for {@code status}, or null when the rules say nothing. */
    Duration ruleTtl(int status) {
        Duration d = ttlByStatus.get(status);
        if (d != null) {
            return d;
        }
        return status < 400 ? ttlAny : null;
    }
}
