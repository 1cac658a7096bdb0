package io.portico.server.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.portico.http.cache.CacheKeyTemplate;
import io.portico.http.cache.CacheRules;
import io.portico.http.cache.CachedResponse;
import io.portico.http.cache.Compression;
import io.portico.http.cache.HttpCache;
import io.portico.server.config.CacheRouteConfig;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** The cache as one route uses it: the shared store, the route's rules and its key template. */
public final class RouteCache {

    private final HttpCache cache;
    private final CacheRules rules;
    private final CacheKeyTemplate key;
    private final boolean compress;
    private final Set<String> compressTypes;
    private final long compressMinSize;
    private final boolean convertHead;
    private final long sliceSize;
    /**
     * Base keys whose origin answered a slice's Range with the whole object: cached whole for a
     * while. Bounded by the chars of its keys (a request's target may be 32k long): some 65,000
     * keys of usual length, about 16 MB at most.
     */
    private final Cache<String, Boolean> unsliced = Caffeine.newBuilder().maximumWeight(HttpCache.KEY_SET_WEIGHT)
            .weigher(HttpCache.KEY_WEIGHER).expireAfterWrite(Duration.ofMinutes(10)).executor(Runnable::run).build();

    private RouteCache(HttpCache cache, CacheRules rules, CacheKeyTemplate key, CacheRouteConfig config) {
        this.cache = cache;
        this.rules = rules;
        this.key = key;
        this.compress = config.compress();
        Set<String> types = new HashSet<>();
        for (String t : config.compressTypes()) {
            types.add(t.trim().toLowerCase(Locale.ROOT));
        }
        this.compressTypes = types.isEmpty() ? Compression.DEFAULT_TYPES : Set.copyOf(types);
        this.compressMinSize = config.compressMinSize().bytes();
        this.convertHead = config.convertHead();
        this.sliceSize = config.slice().bytes();
    }

    /** The slice size for large objects, or 0 when objects are cached whole. */
    public long sliceSize() {
        return sliceSize;
    }

    /**
     * Whether requests for {@code baseKey} are fetched in slices: slicing is on and the origin has
     * not lately answered a slice's Range with the whole object.
     */
    public boolean slices(String baseKey) {
        return sliceSize > 0 && unsliced.getIfPresent(baseKey) == null;
    }

    /** The origin ignores Range for {@code baseKey}: cache it whole (for ten minutes, then try slices again). */
    public void markUnsliced(String baseKey) {
        unsliced.put(baseKey, Boolean.TRUE);
    }

    /** Whether a HEAD that misses is fetched as GET to fill the cache (nginx proxy_cache_convert_head). */
    public boolean convertHead() {
        return convertHead;
    }

    /**
     * Whether {@code stored} gets a gzip copy on this route: compression is on and the response is
     * of a listed type, large enough and not encoded already.
     */
    public boolean compressible(CachedResponse stored) {
        return compress && Compression.compressible(stored, compressTypes, compressMinSize);
    }

    /**
     * Whether responses like this one may be served gzipped on this route, so that they must say
     * {@code Vary: Accept-Encoding} whichever encoding a client gets.
     */
    public boolean variesOnEncoding(int status, HttpHeaders headers) {
        return compress && Compression.compressibleKind(status, headers, compressTypes);
    }

    /** The route's cache, or null when it is off (or there is no cache). */
    public static RouteCache of(CacheRouteConfig config, HttpCache cache) {
        if (!config.enabled() || cache == null) {
            return null;
        }
        Map<Integer, Duration> byStatus = new HashMap<>();
        Duration any = null;
        for (Map.Entry<String, Duration> e : config.ttl().entrySet()) {
            if (e.getKey().equals("any")) {
                any = e.getValue();
            } else {
                byStatus.put(Integer.parseInt(e.getKey()), e.getValue());
            }
        }
        Set<String> ignore = new HashSet<>();
        for (String h : config.ignoreHeaders()) {
            ignore.add(h.toLowerCase(Locale.ROOT));
        }
        CacheRules rules = new CacheRules(byStatus, any, ignore, config.maxObjectSize().bytes(), config.heuristicMax(),
                config.staleIfError(), config.maxVariants());
        return new RouteCache(cache, rules, CacheKeyTemplate.parse(config.key()), config);
    }

    public HttpCache cache() {
        return cache;
    }

    public CacheRules rules() {
        return rules;
    }

    /** The base key of a request (before Vary). */
    public String baseKey(String scheme, String host, String requestUri, HttpHeaders headers) {
        return key.expand(scheme, host, requestUri, headers);
    }

    /**
     * After an unsafe method got a non-error answer: drop what is stored for its URI and for the
     * same-origin URIs in {@code Location} and {@code Content-Location} (RFC 9111 section 4.4).
     */
    public int invalidate(String scheme, String host, String requestUri, HttpHeaders response) {
        int n = cache.purgeUrl(CacheKeyTemplate.url(scheme, host, requestUri));
        n += invalidateReference(scheme, host, requestUri, response.get(HttpHeaderNames.LOCATION));
        n += invalidateReference(scheme, host, requestUri, response.get(HttpHeaderNames.CONTENT_LOCATION));
        return n;
    }

    private int invalidateReference(String scheme, String host, String requestUri, String reference) {
        if (reference == null || reference.isEmpty()) {
            return 0;
        }
        try {
            URI base = new URI(scheme, host, "/", null).resolve(requestUri.startsWith("/") ? requestUri : "/");
            URI target = base.resolve(reference.trim());
            // Only the same origin: a response must not be able to evict another site's objects.
            if (!scheme.equalsIgnoreCase(target.getScheme()) || target.getHost() == null
                    || !host.equalsIgnoreCase(target.getHost()) || target.getPort() != -1 && !sameDefaultPort(scheme, target)) {
                return 0;
            }
            String path = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
            String uri = target.getRawQuery() == null ? path : path + "?" + target.getRawQuery();
            return cache.purgeUrl(CacheKeyTemplate.url(scheme, host, uri));
        } catch (java.net.URISyntaxException | IllegalArgumentException malformed) {
            return 0;
        }
    }

    private static boolean sameDefaultPort(String scheme, URI target) {
        return target.getPort() == (scheme.equals("https") ? 443 : 80);
    }
}
