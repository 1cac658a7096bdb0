package io.portico.server.config;

import io.portico.http.cache.CacheKeyTemplate;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The HTTP cache on one route (RFC 9111 shared-cache semantics; these keys add the operator's say).
 *
 * @param enabled         look requests up in the cache and store what may be stored
 * @param key             cache key template ({@code $scheme}, {@code $host}, {@code $request_uri},
 *                        {@code $uri}, {@code $args}, {@code $is_args}, {@code $http_NAME})
 * @param ttl             lifetimes by status (keys are status codes or {@code any}), as nginx
 *                        {@code proxy_cache_valid}: used when the origin sent no explicit freshness;
 *                        a status of 400 or more is stored only when listed here by code
 * @param ignoreHeaders   response headers to disregard, as nginx {@code proxy_ignore_headers}:
 *                        {@code Cache-Control}, {@code Expires}, {@code Set-Cookie}, {@code Vary}
 * @param maxObjectSize   larger responses pass through without being stored
 * @param heuristicMax    cap of the heuristic lifetime (10% of the age of Last-Modified); 0s turns it off
 * @param staleIfError    grace: how long past its lifetime a stored response may answer when the
 *                        origin fails, whatever the response said (must-revalidate still wins)
 * @param maxVariants     variants kept per URL for responses with {@code Vary}
 * @param compress        gzip stored responses the origin sent uncompressed, once, for clients
 *                        that accept it (the gzip copy is stored next to the original)
 * @param compressTypes   media types to compress; empty means the usual text types
 * @param compressMinSize smaller responses are not worth compressing
 * @param convertHead     a HEAD that misses goes upstream as GET and fills the cache, the client
 *                        getting the head only (nginx {@code proxy_cache_convert_head}); off: HEAD
 *                        misses go upstream as HEAD and nothing is stored
 * @param slice           0 (off), or the size of the slices large objects are fetched and stored
 *                        in (nginx's {@code slice}): a miss asks the origin for {@code Range}s of
 *                        this size, each stored as its own object; at most {@code max_object_size}
 */
public record CacheRouteConfig(
        @Default("false") boolean enabled,
        @Default(CacheKeyTemplate.DEFAULT) String key,
        Map<String, Duration> ttl,
        List<String> ignoreHeaders,
        @Default("8m") ByteSize maxObjectSize,
        @Default("1d") Duration heuristicMax,
        @Default("0s") Duration staleIfError,
        @Default("16") int maxVariants,
        @Default("false") boolean compress,
        List<String> compressTypes,
        @Default("256") ByteSize compressMinSize,
        @Default("true") boolean convertHead,
        @Default("0") ByteSize slice) {

    private static final Set<String> IGNORABLE = Set.of("cache-control", "expires", "set-cookie", "vary");

    public CacheRouteConfig {
        ttl = Map.copyOf(ttl);
        ignoreHeaders = List.copyOf(ignoreHeaders);
        compressTypes = List.copyOf(compressTypes);
        try {
            CacheKeyTemplate.parse(key);
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigException("key", e.getMessage());
        }
        for (String status : ttl.keySet()) {
            if (status.equals("any")) {
                continue;
            }
            int code;
            try {
                code = Integer.parseInt(status);
            } catch (NumberFormatException e) {
                throw new InvalidConfigException("ttl." + status, "keys are status codes (200..599) or any, got '" + status + "'");
            }
            if (code < 200 || code > 599) {
                throw new InvalidConfigException("ttl." + status, "keys are status codes (200..599) or any, got " + code);
            }
        }
        for (int i = 0; i < ignoreHeaders.size(); i++) {
            if (!IGNORABLE.contains(ignoreHeaders.get(i).toLowerCase(Locale.ROOT))) {
                throw new InvalidConfigException("ignore_headers[" + i + "]",
                        "can be Cache-Control, Expires, Set-Cookie or Vary, got '" + ignoreHeaders.get(i) + "'");
            }
        }
        if (maxObjectSize.bytes() == 0) {
            throw new InvalidConfigException("max_object_size", "must be more than 0");
        }
        if (slice.bytes() != 0 && (slice.bytes() < 4096 || slice.bytes() > maxObjectSize.bytes())) {
            throw new InvalidConfigException("slice", "must be 0 (off) or 4k..max_object_size (" + maxObjectSize.bytes()
                    + " bytes), got " + slice.bytes() + " bytes");
        }
        if (maxVariants < 1 || maxVariants > 1024) {
            throw new InvalidConfigException("max_variants", "must be 1..1024, got " + maxVariants);
        }
    }
}
