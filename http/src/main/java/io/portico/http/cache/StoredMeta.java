package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaders;

/**
 * The part of a stored response a validation replaces: its header fields and the times its
 * freshness is computed from. Immutable; a 304 from the origin swaps in a new one.
 *
 * @param headers              the stored header fields (never modified after construction)
 * @param requestTime          when the request that fetched it was sent (epoch millis)
 * @param responseTime         when the response arrived (epoch millis)
 * @param correctedInitialAge  section 4.2.3, millis
 * @param lifetime             freshness lifetime, millis
 * @param noCache              unqualified {@code no-cache}: validate before every use
 * @param noStaleServing       {@code must-revalidate}, {@code proxy-revalidate} or {@code s-maxage}:
 *                             never serve it stale (section 5.2.2.2, 5.2.2.8, 5.2.2.10)
 * @param staleWhileRevalidate RFC 5861 window, seconds, or {@link CacheControl#ABSENT}
 * @param staleIfError         RFC 5861 window, seconds, or {@link CacheControl#ABSENT}
 */
public record StoredMeta(HttpHeaders headers, long requestTime, long responseTime, long correctedInitialAge,
                         long lifetime, boolean noCache, boolean noStaleServing, long staleWhileRevalidate,
                         long staleIfError) {

    /** Builds the metadata of a response that arrived at {@code responseTime}. */
    public static StoredMeta of(int status, HttpHeaders headers, CacheRules rules, long requestTime, long responseTime) {
        CacheControl cc = CacheControl.of(headers);
        CacheControl effective = rules.ignores("cache-control") ? CacheControl.NONE : cc;
        long lifetime = CachePolicy.freshnessLifetime(status, headers, cc, rules, responseTime);
        long age = CachePolicy.correctedInitialAge(headers, requestTime, responseTime);
        boolean noStale = effective.mustRevalidate() || effective.proxyRevalidate()
                || effective.sMaxAge() != CacheControl.ABSENT;
        return new StoredMeta(headers, requestTime, responseTime, age, lifetime, effective.noCache(), noStale,
                effective.staleWhileRevalidate(), effective.staleIfError());
    }

    /** current_age of section 4.2.3, millis. */
    public long currentAge(long now) {
        return correctedInitialAge + Math.max(0, now - responseTime);
    }

    /** Lifetime left, millis; negative once stale. */
    public long ttl(long now) {
        return lifetime - currentAge(now);
    }

    /**
     * Whether this response may answer a request with {@code requestCc} now (section 4.2 and 5.2.1).
     *
     * @param pragmaNoCache the request had {@code Pragma: no-cache} and no {@code Cache-Control}
     */
    public Usability usability(CacheControl requestCc, boolean pragmaNoCache, long now) {
        if (noCache || requestCc.noCache() || pragmaNoCache) {
            return Usability.NEEDS_VALIDATION;
        }
        long age = currentAge(now);
        if (requestCc.maxAge() != CacheControl.ABSENT && !requestCc.invalidLifetime()
                && age > requestCc.maxAge() * 1000 && requestCc.maxStale() == CacheControl.ABSENT) {
            return Usability.NEEDS_VALIDATION;
        }
        long left = lifetime - age;
        if (left > 0) {
            if (requestCc.minFresh() != CacheControl.ABSENT && left < requestCc.minFresh() * 1000) {
                return Usability.NEEDS_VALIDATION;
            }
            return Usability.FRESH;
        }
        if (noStaleServing) {
            return Usability.NEEDS_VALIDATION;
        }
        long staleness = -left;
        if (requestCc.maxStale() != CacheControl.ABSENT
                && (requestCc.maxStale() == CacheControl.ANY || staleness <= requestCc.maxStale() * 1000)) {
            return Usability.STALE_ACCEPTED;
        }
        if (staleWhileRevalidate != CacheControl.ABSENT && staleness <= staleWhileRevalidate * 1000) {
            return Usability.STALE_WHILE_REVALIDATE;
        }
        return Usability.NEEDS_VALIDATION;
    }

    /**
     * Whether this stale response may stand in for an origin that failed: within its own or the
     * request's {@code stale-if-error}, or the operator's grace; never when it must be revalidated.
     */
    public boolean usableOnError(CacheControl requestCc, long graceMillis, long now) {
        if (noStaleServing) {
            return false;
        }
        long staleness = -ttl(now);
        if (staleness <= 0) {
            return true;
        }
        long window = graceMillis;
        if (staleIfError != CacheControl.ABSENT) {
            window = Math.max(window, staleIfError * 1000);
        }
        if (requestCc.staleIfError() != CacheControl.ABSENT) {
            window = Math.max(window, requestCc.staleIfError() * 1000);
        }
        return staleness <= window;
    }
}
