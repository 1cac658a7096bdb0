package io.portico.http.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.EventExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The shared HTTP cache of one Portico: a memory tier (Caffeine, weighted by bytes, bodies off
 * the Java heap) of {@link CachedResponse}s, the fetches in flight that requests collapse onto, and
 * indexes for purge by URL and by tag. Thread-safe; called from every event loop.
 *
 * <p>Keys: a route's {@link CacheKeyTemplate} gives the base key; a response with {@code Vary}
 * is stored under the base key plus its normalised selecting values, and the base key remembers
 * which fields the URL varies on (at most {@code maxVariants} variants per base key; the oldest
 * goes first).
 *
 * <p>Purge API (for the admin listener): {@link #purgeUrl}, {@link #purgePrefix}, {@link #purgeTag}
 * return how many objects they removed. Counters: {@link #stats()}.
 */
public final class HttpCache implements AutoCloseable {

    /** How long a key whose response could not be stored stops collapsing (as Varnish's hit-for-miss). */
    private static final long UNCACHEABLE_MILLIS = 30_000;

    private final Cache<String, CachedResponse> memory;
    private final ConcurrentHashMap<String, VaryRecord> varies = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Pending> inflight = new ConcurrentHashMap<>();
    private final Cache<String, Long> uncacheable;
    private final ConcurrentHashMap<String, Set<String>> byUrl = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Set<String>> byTag = new ConcurrentHashMap<>();
    private final ByteBufAllocator alloc;
    private final CacheStats stats = new CacheStats();

    /** Which fields a base key's responses vary on, and its variants oldest first. */
    private static final class VaryRecord {
        final List<String> names;
        final List<String> keys = new ArrayList<>(4);

        VaryRecord(List<String> names) {
            this.names = names;
        }
    }

    /** @param memoryBytes budget of the memory tier, bodies and headers counted */
    public HttpCache(long memoryBytes, ByteBufAllocator alloc) {
        this.alloc = alloc;
        this.memory = Caffeine.newBuilder()
                .maximumWeight(memoryBytes)
                .weigher((String k, CachedResponse v) -> v.weight())
                // Evictions run on the thread that caused them: no pool threads, no surprise ordering.
                .executor(Runnable::run)
                .removalListener(this::onRemoval)
                .build();
        this.uncacheable = Caffeine.newBuilder().maximumSize(65_536)
                .expireAfterWrite(java.time.Duration.ofMillis(UNCACHEABLE_MILLIS)).executor(Runnable::run).build();
    }

    public CacheStats statsCounters() {
        return stats;
    }

    /** The counters now, with the memory tier's size. */
    public CacheStats.Snapshot stats() {
        long bytes = memory.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
        return stats.snapshot(bytes, memory.estimatedSize());
    }

    // ---- lookup --------------------------------------------------------------------------------

    /** The stored, complete response for a request, retained for the caller, or null. */
    public CachedResponse get(String baseKey, HttpHeaders request) {
        VaryRecord vary = varies.get(baseKey);
        String key = baseKey;
        String selecting = "";
        if (vary != null) {
            selecting = Vary.selectingValues(vary.names, request);
            if (selecting == null) {
                return null;
            }
            key = variantKey(baseKey, selecting);
        }
        CachedResponse r = memory.getIfPresent(key);
        if (r == null || !r.matches(selecting)) {
            return null;
        }
        try {
            return r.retain();
        } catch (io.netty.util.IllegalReferenceCountException evictedMeanwhile) {
            return null;
        }
    }

    /** What a request that found nothing usable should do. */
    public enum JoinResult {
        /** Fetch it from the origin and fill the store: the returned {@link Pending} is yours. */
        LEAD,
        /** Another request is fetching it: wait for the callback, then call {@link Pending#joined}. */
        WAIT,
        /** Recently uncacheable: fetch from the origin without collapsing. */
        PASS
    }

    /** The outcome of {@link #join}. */
    public record Join(JoinResult result, Pending pending, CachedResponse object) {
    }

    /**
     * Joins the fetch in flight for {@code baseKey}, or becomes it. When a fetch in flight already
     * publishes an object this request may use, that object comes back (retained) in
     * {@link Join#object()} with result {@code WAIT} and no wait is needed.
     */
    public Join join(String baseKey, HttpHeaders request, EventExecutor executor, Runnable wakeup) {
        while (true) {
            Pending existing = inflight.get(baseKey);
            if (existing == null) {
                if (uncacheable.getIfPresent(baseKey) != null) {
                    return new Join(JoinResult.PASS, null, null);
                }
                Pending mine = new Pending(this, baseKey);
                if (inflight.putIfAbsent(baseKey, mine) == null) {
                    return new Join(JoinResult.LEAD, mine, null);
                }
                continue;
            }
            if (existing.await(executor, wakeup)) {
                stats.collapsed();
                return new Join(JoinResult.WAIT, existing, null);
            }
            CachedResponse o = existing.joined(selector(request), false);
            if (o != null) {
                stats.collapsed();
                return new Join(JoinResult.WAIT, existing, o);
            }
            // Settled without anything for this request: go to the origin without collapsing.
            return new Join(JoinResult.PASS, null, null);
        }
    }

    void settled(Pending p, boolean markUncacheable) {
        inflight.remove(p.baseKey(), p);
        if (markUncacheable) {
            uncacheable.put(p.baseKey(), System.currentTimeMillis());
        }
    }

    // ---- filling -------------------------------------------------------------------------------

    /**
     * A new object to fill from a storable response; its one reference belongs to the caller, who
     * {@link #store}s it when complete and then releases it.
     */
    public CachedResponse newObject(String baseKey, String url, int status, HttpHeaders request, StoredMeta meta,
                                    List<String> tags, CacheRules rules) {
        List<String> varyNames = rules.ignores("vary") ? List.of() : Vary.names(meta.headers());
        String selecting = Vary.selectingValues(varyNames, request);
        String key = varyNames.isEmpty() ? baseKey : variantKey(baseKey, selecting);
        uncacheable.invalidate(baseKey);
        return new CachedResponse(key, baseKey, url, tags, status, varyNames, selecting == null ? "" : selecting,
                meta, alloc, rules.maxObjectSize());
    }

    /** Puts a complete object in the memory tier (which takes its own reference). */
    public void store(CachedResponse object, int maxVariants) {
        if (!object.isComplete()) {
            throw new IllegalStateException("only complete objects are stored: " + object);
        }
        String baseKey = object.baseKey();
        List<String> names = object.varyNames();
        List<String> dropped = new ArrayList<>(1);
        varies.compute(baseKey, (k, rec) -> {
            if (names.isEmpty()) {
                if (rec != null) {
                    dropped.addAll(rec.keys);
                }
                return null;
            }
            if (rec == null || !rec.names.equals(names)) {
                if (rec != null) {
                    dropped.addAll(rec.keys);
                }
                rec = new VaryRecord(names);
            }
            rec.keys.remove(object.key());
            rec.keys.add(object.key());
            while (rec.keys.size() > maxVariants) {
                dropped.add(rec.keys.remove(0));
            }
            return rec;
        });
        if (names.isEmpty()) {
            dropped.remove(baseKey);
        }
        for (String k : dropped) {
            if (!k.equals(object.key())) {
                memory.invalidate(k);
            }
        }
        index(byUrl, object.url(), object.key());
        for (String tag : object.tags()) {
            index(byTag, tag, object.key());
        }
        memory.put(object.key(), object.retain());
        stats.stored.increment();
    }

    private static void index(ConcurrentHashMap<String, Set<String>> index, String name, String key) {
        index.computeIfAbsent(name, n -> ConcurrentHashMap.newKeySet()).add(key);
    }

    private static void unindex(ConcurrentHashMap<String, Set<String>> index, String name, String key) {
        index.computeIfPresent(name, (n, keys) -> {
            keys.remove(key);
            return keys.isEmpty() ? null : keys;
        });
    }

    private void onRemoval(String key, CachedResponse value, RemovalCause cause) {
        if (value == null) {
            return;
        }
        if (cause.wasEvicted()) {
            stats.evicted.increment();
        }
        if (cause != RemovalCause.REPLACED) {
            unindex(byUrl, value.url(), key);
            for (String tag : value.tags()) {
                unindex(byTag, tag, key);
            }
            varies.computeIfPresent(value.baseKey(), (k, rec) -> {
                rec.keys.remove(key);
                return rec.keys.isEmpty() ? null : rec;
            });
        }
        value.release();
    }

    // ---- purge and invalidation ----------------------------------------------------------------

    /** Removes every variant stored for {@code url} (scheme://host/path?query). */
    public int purgeUrl(String url) {
        Set<String> keys = byUrl.get(url);
        return keys == null ? 0 : remove(List.copyOf(keys));
    }

    /** Removes every object whose URL starts with {@code prefix}. */
    public int purgePrefix(String prefix) {
        List<String> keys = new ArrayList<>();
        for (Map.Entry<String, Set<String>> e : byUrl.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                keys.addAll(e.getValue());
            }
        }
        return remove(keys);
    }

    /** Removes every object tagged {@code tag} by its {@code Surrogate-Key} or {@code Cache-Tag} header. */
    public int purgeTag(String tag) {
        Set<String> keys = byTag.get(tag);
        return keys == null ? 0 : remove(List.copyOf(keys));
    }

    /** Removes the object stored under exactly {@code key} (a variant key included). */
    public boolean purgeKey(String key) {
        return remove(List.of(key)) == 1;
    }

    /** Removes everything. */
    public int purgeAll() {
        int n = (int) memory.estimatedSize();
        memory.invalidateAll();
        stats.purged.add(n);
        return n;
    }

    private int remove(List<String> keys) {
        int n = 0;
        for (String k : keys) {
            if (memory.asMap().remove(k) != null) {
                n++;
            }
        }
        stats.purged.add(n);
        return n;
    }

    /** Whether an object is stored under exactly {@code key} (tests, diagnostics). */
    public boolean contains(String key) {
        return memory.getIfPresent(key) != null;
    }

    static String variantKey(String baseKey, String selecting) {
        return baseKey + '\u0000' + selecting;
    }

    /** Releases every stored body. */
    @Override
    public void close() {
        memory.invalidateAll();
        memory.cleanUp();
        uncacheable.invalidateAll();
    }

    /** Surrogate keys of a response: space-separated values of {@code Surrogate-Key} and {@code Cache-Tag} (commas too). */
    public static List<String> tags(HttpHeaders response) {
        List<String> out = new ArrayList<>();
        for (String name : new String[] {"surrogate-key", "cache-tag"}) {
            for (String v : response.getAll(name)) {
                for (String t : v.split("[\\s,]+")) {
                    if (!t.isEmpty() && !out.contains(t)) {
                        out.add(t);
                    }
                }
            }
        }
        return out;
    }

    /** Convenience for callers that have the selecting-values function at hand. */
    public static Function<List<String>, String> selector(HttpHeaders request) {
        return names -> Vary.selectingValues(names, request);
    }
}
