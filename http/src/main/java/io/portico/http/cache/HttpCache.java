package io.portico.http.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Weigher;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.EventExecutor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
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
    /**
     * The weight of a set of base keys kept for a while (keys recently uncacheable, keys an origin
     * would not slice): their chars plus 64 for each entry, so that about 65,000 keys of usual
     * length fit, and long ones (a request target may be 32k long) cannot make it gigabytes.
     */
    public static final long KEY_SET_WEIGHT = 65_536L * 128;
    /** Weighs a key of such a set (see {@link #KEY_SET_WEIGHT}). */
    public static final Weigher<String, Object> KEY_WEIGHER = (key, value) -> 64 + key.length();

    private final Cache<String, CachedResponse> memory;
    private final ConcurrentHashMap<String, VaryRecord> varies = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Pending> inflight = new ConcurrentHashMap<>();
    private final Cache<String, Long> uncacheable;
    private final ConcurrentHashMap<String, Set<String>> byUrl = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Set<String>> byTag = new ConcurrentHashMap<>();
    private final ByteBufAllocator alloc;
    private final DiskStore disk;
    private final Compression compression;
    private final CacheStats stats = new CacheStats();
    private volatile boolean closed;
    /**
     * The purges (admin, PURGE, invalidations by unsafe methods, a sliced object found changed) of
     * the last while, oldest first, so that a fetch in flight across a purge does not store what it
     * fetched: the purge says the stored object is out of date, and a fetch sent before it may
     * bring the same out-of-date bytes. Guarded by itself. Bounded by {@link #MAX_PURGE_LOG}: the
     * oldest records are folded into {@link #purgeHorizon}.
     */
    private final ArrayDeque<PurgeRecord> purgeLog = new ArrayDeque<>();
    /**
     * Fetches sent at or before this mark store nothing: the mark of the newest record folded out
     * of {@link #purgeLog}, whose details are gone. Guarded by {@link #purgeLog}.
     */
    private long purgeHorizon;
    /** The number of purges so far, each record's mark; read by {@link #purgeMark} as a fetch is sent. */
    private volatile long purges;

    /** Purge records kept before the oldest are folded into the horizon. */
    static final int MAX_PURGE_LOG = 8192;

    private enum PurgeKind { URL, PREFIX, TAG, KEY, ALL }

    private record PurgeRecord(long mark, PurgeKind kind, String value) {

        boolean matches(CachedResponse o) {
            return switch (kind) {
                case URL -> value.equals(o.url());
                case PREFIX -> o.url().startsWith(value);
                case TAG -> o.tags().contains(value);
                case KEY -> value.equals(o.key());
                case ALL -> true;
            };
        }
    }

    /** Which fields a base key's responses vary on, and its variants oldest first. */
    private static final class VaryRecord {
        final List<String> names;
        final List<String> keys = new ArrayList<>(4);

        VaryRecord(List<String> names) {
            this.names = names;
        }
    }

    /** A memory-only cache. */
    public HttpCache(long memoryBytes, ByteBufAllocator alloc) {
        this(memoryBytes, alloc, null);
    }

    /**
     * @param memoryBytes budget of the memory tier, bodies and headers counted
     * @param disk        the disk tier behind it (this cache closes it), or null
     */
    public HttpCache(long memoryBytes, ByteBufAllocator alloc, DiskStore disk) {
        this.alloc = alloc;
        this.disk = disk;
        this.compression = new Compression(this, alloc);
        this.memory = Caffeine.newBuilder()
                .maximumWeight(memoryBytes)
                .weigher((String k, CachedResponse v) -> v.weight())
                // Evictions run on the thread that caused them: no pool threads, no surprise ordering.
                .executor(Runnable::run)
                .removalListener(this::onRemoval)
                .build();
        this.uncacheable = Caffeine.newBuilder().maximumWeight(KEY_SET_WEIGHT).weigher(KEY_WEIGHER)
                .expireAfterWrite(java.time.Duration.ofMillis(UNCACHEABLE_MILLIS)).executor(Runnable::run).build();
        if (disk != null) {
            indexDisk();
            disk.onReleased(this::released);
        }
    }

    /**
     * The disk tier's files are the index that survives a restart: rebuilds ours from them, oldest
     * response first, so that whatever order the files come in, a newer response supersedes an
     * older one for its base key (plain or varying, on which fields) as it did when it was stored.
     */
    private void indexDisk() {
        List<DiskStore.Entry> found = new ArrayList<>(disk.entries());
        found.sort(java.util.Comparator.comparingLong((DiskStore.Entry e) -> e.responseTime)
                .thenComparingLong(e -> e.lastAccess));
        Set<String> indexed = new java.util.HashSet<>();
        for (DiskStore.Entry e : found) {
            indexed.add(e.key);
            for (String k : indexKnown(e.key, e.baseKey, e.url, e.tags, e.varyNames, Integer.MAX_VALUE)) {
                // A plain file at the base key not indexed yet is newer than this one: it drops this one in turn.
                if (indexed.contains(k)) {
                    removeKey(k);
                }
            }
        }
    }

    /** gzip copies of stored responses. */
    public Compression compression() {
        return compression;
    }

    /** The object stored in memory under exactly {@code key}, retained, or null. */
    CachedResponse getExact(String key) {
        CachedResponse r = memory.getIfPresent(key);
        if (r == null) {
            return null;
        }
        try {
            return r.retain();
        } catch (io.netty.util.IllegalReferenceCountException evictedMeanwhile) {
            return null;
        }
    }

    /** Stores an object derived from a stored one (its gzip copy): memory only, purged with its URL and tags. */
    void storeDerived(CachedResponse object) {
        if (closed) {
            return;
        }
        index(byUrl, object.url(), object.key());
        for (String tag : object.tags()) {
            index(byTag, tag, object.key());
        }
        memory.put(object.key(), object.retain());
    }

    /** Whether there is a disk tier behind the memory tier. */
    public boolean hasDisk() {
        return disk != null;
    }

    /** The disk tier, or null. */
    public DiskStore disk() {
        return disk;
    }

    public CacheStats statsCounters() {
        return stats;
    }

    /** The counters now, with the sizes of the tiers. */
    public CacheStats.Snapshot stats() {
        long bytes = memory.policy().eviction().map(e -> e.weightedSize().orElse(0L)).orElse(0L);
        return stats.snapshot(bytes, memory.estimatedSize(), disk == null ? 0 : disk.usedBytes(),
                disk == null ? 0 : disk.objects(), disk == null ? 0 : disk.openBodyFiles());
    }

    // ---- lookup --------------------------------------------------------------------------------

    /** The stored, complete response for a request from the memory tier, retained for the caller, or null. */
    public CachedResponse get(String baseKey, HttpHeaders request) {
        String selecting = selecting(baseKey, request);
        if (selecting == null) {
            return null;
        }
        String key = selecting.isEmpty() ? baseKey : variantKey(baseKey, selecting);
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

    private String selecting(String baseKey, HttpHeaders request) {
        VaryRecord vary = varies.get(baseKey);
        if (vary == null) {
            return "";
        }
        return Vary.selectingValues(vary.names, request);
    }

    /** The key under which the disk tier holds a response for this request, or null. */
    public String onDisk(String baseKey, HttpHeaders request) {
        if (disk == null) {
            return null;
        }
        String selecting = selecting(baseKey, request);
        if (selecting == null) {
            return null;
        }
        String key = selecting.isEmpty() ? baseKey : variantKey(baseKey, selecting);
        return disk.contains(key) ? key : null;
    }

    /**
     * Reads a response from the disk tier and promotes it to the memory tier (whose admission
     * policy keeps it only if it is hotter than what it would evict). {@code done} runs on
     * {@code loop} with the object, retained for the caller, or null (gone, unreadable: a miss).
     *
     * <p>The read takes a while: a purge meanwhile stays a purge (the copy read is dropped: a
     * miss), and an object stored meanwhile under the key is newer than the copy read, so it is
     * kept and answers instead.
     */
    public void load(String key, EventExecutor loop, java.util.function.Consumer<CachedResponse> done) {
        disk.load(key, loop, (read, o) -> {
            if (o == null) {
                done.accept(null);
                return;
            }
            boolean[] promoted = {false};
            // Checked under the map's lock for the key: removeKey drops the disk entry before the
            // memory one, so a purge either sees the promoted object or makes this check fail.
            CachedResponse present = memory.asMap().computeIfAbsent(key, k -> {
                if (disk.entry(k) != read) {
                    return null;
                }
                promoted[0] = true;
                return o.retain();
            });
            if (promoted[0]) {
                done.accept(o);
                return;
            }
            o.release();
            done.accept(present == null ? null : getExact(key));
        });
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

    /**
     * Forgets the fetches in flight whose key starts with {@code keyPrefix}: later requests do not
     * join them (they fetch anew); those already waiting on them still get what they fetch. For an
     * object found to have changed at the origin while an older version was being fetched, after a
     * purge of its URL, which keeps what they fetch from being stored (see {@link #purgeUrl}); the
     * cost is that of the fetches in flight, not of the object's size.
     */
    public void forgetFetches(String keyPrefix) {
        inflight.keySet().removeIf(k -> k.startsWith(keyPrefix));
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
        store(object, maxVariants, purges);
    }

    /**
     * Stores a complete object fetched from the origin, unless a purge made since its request was
     * sent covers it.
     *
     * @param sentAt {@link #purgeMark()} when the request that fetched it was sent
     */
    public void store(CachedResponse object, int maxVariants, long sentAt) {
        if (!object.isComplete()) {
            throw new IllegalStateException("only complete objects are stored: " + object);
        }
        if (purgedSince(object, sentAt)) {
            return;
        }
        // Stored first (the disk tier before memory, whose admission policy may turn a newcomer away
        // as it goes in), indexed after: the indexes drop a key only when no tier holds a copy under
        // it (see released), so a key must be held before it is indexed, or a tier letting go of an
        // older copy meanwhile could take the new one's entries with it.
        if (disk != null) {
            disk.write(object);
        }
        memory.put(object.key(), object.retain());
        List<String> dropped = indexKnown(object.key(), object.baseKey(), object.url(), object.tags(),
                object.varyNames(), maxVariants);
        for (String k : dropped) {
            if (!k.equals(object.baseKey()) || stored(k)) {
                removeKey(k);
            }
        }
        stats.stored.increment();
    }

    /**
     * After a 304 freshened a stored object: the disk copy gets the new header fields too, unless
     * the object was purged (or replaced) while the origin was asked. Written back then, it would be
     * on disk again, served, and out of the URL and tag indexes that purges go by.
     */
    public void freshened(CachedResponse object) {
        if (disk != null && object.isComplete()
                && (memory.asMap().get(object.key()) == object || disk.contains(object.key()))) {
            disk.write(object);
        }
    }

    /** In the memory tier, or on disk or on its way there. */
    private boolean stored(String key) {
        return memory.asMap().containsKey(key) || disk != null && disk.holds(key);
    }

    /**
     * Records a stored key in the Vary, URL and tag indexes; returns the keys it supersedes:
     * variants pushed out, variants on other fields, and the base key itself (where a plain
     * response may be stored) when the base key starts to vary. The plain response would otherwise
     * stay stored, unreachable while the variants are, and come back once they are gone.
     */
    private List<String> indexKnown(String key, String baseKey, String url, List<String> tags, List<String> names,
                                    int maxVariants) {
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
                dropped.add(baseKey);
                rec = new VaryRecord(names);
            }
            rec.keys.remove(key);
            rec.keys.add(key);
            while (rec.keys.size() > maxVariants) {
                dropped.add(rec.keys.remove(0));
            }
            return rec;
        });
        dropped.remove(key);
        index(byUrl, url, key);
        for (String tag : tags) {
            index(byTag, tag, key);
        }
        return dropped;
    }

    private static void index(ConcurrentHashMap<String, Set<String>> index, String name, String key) {
        // Added under the entry's lock: an unindex that empties the set removes it under the same lock.
        index.compute(name, (n, keys) -> {
            Set<String> k = keys == null ? ConcurrentHashMap.newKeySet() : keys;
            k.add(key);
            return k;
        });
    }

    private void onRemoval(String key, CachedResponse value, RemovalCause cause) {
        if (value == null) {
            return;
        }
        if (cause.wasEvicted()) {
            stats.evicted.increment();
        }
        // Evicted (perhaps still on disk: still known, still purgeable), replaced by a newer
        // response, or removed (a purge takes the disk's copy first).
        released(key, value.baseKey(), value.url(), value.tags());
        value.release();
    }

    /**
     * A copy under {@code key} is gone from one tier (evicted from memory or disk, replaced by a
     * newer response, purged, its disk write failed): its index entries go, but for what a copy
     * still held under the key (in memory, on disk, or queued for it) is indexed under. A key left
     * in the indexes with nothing stored under it would stay for good: a URL or tag per object a
     * client ever had stored. Each entry is checked and dropped under its own lock, where
     * {@link #index} adds, and a store holds its copy before it indexes it: so a store racing this
     * keeps its entries.
     */
    private void released(String key, String baseKey, String url, List<String> tags) {
        unindexUnlessHeld(byUrl, url, key, h -> h.url().equals(url));
        for (String tag : tags) {
            unindexUnlessHeld(byTag, tag, key, h -> h.tags().contains(tag));
        }
        varies.computeIfPresent(baseKey, (k, rec) -> {
            if (!holds(key, h -> h.baseKey().equals(baseKey))) {
                rec.keys.remove(key);
            }
            return rec.keys.isEmpty() ? null : rec;
        });
    }

    /** Drops {@code key} from {@code name}'s entry (under its lock) unless a copy held under the key is indexed there. */
    private void unindexUnlessHeld(ConcurrentHashMap<String, Set<String>> index, String name, String key,
                                   java.util.function.Predicate<DiskStore.Held> indexedThere) {
        index.computeIfPresent(name, (n, keys) -> {
            if (!holds(key, indexedThere)) {
                keys.remove(key);
            }
            return keys.isEmpty() ? null : keys;
        });
    }

    /** Whether a copy held under {@code key} (memory, disk, or queued for the disk) passes {@code test}. */
    private boolean holds(String key, java.util.function.Predicate<DiskStore.Held> test) {
        CachedResponse inMemory = memory.asMap().get(key);
        if (inMemory != null && test.test(new DiskStore.Held(inMemory.url(), inMemory.tags(), inMemory.baseKey()))) {
            return true;
        }
        if (disk != null) {
            for (DiskStore.Held h : disk.held(key)) {
                if (test.test(h)) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---- purge and invalidation ----------------------------------------------------------------
    //
    // Each purge removes what is stored and is logged, so that a fetch in flight across it does
    // not store its object (see purgedSince); the fetch's own clients still get it.

    /** Removes every variant stored for {@code url} (scheme://host/path?query). */
    public int purgeUrl(String url) {
        logPurge(PurgeKind.URL, url);
        Set<String> keys = byUrl.get(url);
        return keys == null ? 0 : remove(List.copyOf(keys));
    }

    /** Removes every object whose URL starts with {@code prefix}. */
    public int purgePrefix(String prefix) {
        logPurge(PurgeKind.PREFIX, prefix);
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
        logPurge(PurgeKind.TAG, tag);
        Set<String> keys = byTag.get(tag);
        return keys == null ? 0 : remove(List.copyOf(keys));
    }

    /** Removes the object stored under exactly {@code key} (a variant key included). */
    public boolean purgeKey(String key) {
        logPurge(PurgeKind.KEY, key);
        return removeKey(key);
    }

    /** Removes everything, from both tiers. */
    public int purgeAll() {
        logPurge(PurgeKind.ALL, "");
        java.util.Set<String> keys = new java.util.HashSet<>(memory.asMap().keySet());
        for (Set<String> k : byUrl.values()) {
            keys.addAll(k);
        }
        return remove(List.copyOf(keys));
    }

    /** The purge mark to give {@link #store} for a fetch sent now. */
    public long purgeMark() {
        return purges;
    }

    private void logPurge(PurgeKind kind, String value) {
        synchronized (purgeLog) {
            long mark = purges + 1;
            purgeLog.addLast(new PurgeRecord(mark, kind, value));
            while (purgeLog.size() > MAX_PURGE_LOG) {
                purgeHorizon = purgeLog.removeFirst().mark();
            }
            purges = mark;
        }
    }

    /** Whether a purge made after mark {@code sentAt} covers {@code object}. */
    private boolean purgedSince(CachedResponse object, long sentAt) {
        if (purges == sentAt) {
            return false;
        }
        synchronized (purgeLog) {
            if (sentAt < purgeHorizon) {
                return true;
            }
            for (Iterator<PurgeRecord> it = purgeLog.descendingIterator(); it.hasNext(); ) {
                PurgeRecord r = it.next();
                if (r.mark() <= sentAt) {
                    return false;
                }
                if (r.matches(object)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Entries in the URL and tag indexes (for tests: they must not outgrow what is stored). */
    int indexEntries() {
        int n = 0;
        for (Set<String> keys : byUrl.values()) {
            n += keys.size();
        }
        for (Set<String> keys : byTag.values()) {
            n += keys.size();
        }
        return n;
    }

    private int remove(List<String> keys) {
        int n = 0;
        for (String k : keys) {
            if (removeKey(k)) {
                n++;
            }
        }
        stats.purged.add(n);
        return n;
    }

    /** Removes one key from both tiers and the indexes; true when it was stored. */
    private boolean removeKey(String key) {
        // Disk first: a load promoting the key checks the disk entry under the memory tier's lock
        // for it (see load), so once the entry is gone nothing can put the object back.
        List<DiskStore.Held> onDiskCopies = disk == null ? List.of() : disk.held(key);
        boolean onDisk = disk != null && disk.remove(key);
        // The memory copy's entries go with its removal (onRemoval); a copy only on disk, or only
        // queued for it, has its own to drop here.
        boolean inMemory = memory.asMap().remove(key) != null;
        for (DiskStore.Held h : onDiskCopies) {
            released(key, h.baseKey(), h.url(), h.tags());
        }
        return inMemory || onDisk;
    }

    /** Whether an object is stored under exactly {@code key} (tests, diagnostics). */
    public boolean contains(String key) {
        return memory.getIfPresent(key) != null;
    }

    static String variantKey(String baseKey, String selecting) {
        return baseKey + '\u0000' + selecting;
    }

    /** Releases every stored body in memory; the disk tier's files stay for the next start. */
    @Override
    public void close() {
        closed = true;
        compression.close();
        if (disk != null) {
            disk.close();
        }
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
