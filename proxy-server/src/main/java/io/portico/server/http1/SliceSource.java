package io.portico.server.http1;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.EventExecutor;
import io.portico.http.cache.CacheControl;
import io.portico.http.cache.CachedResponse;
import io.portico.http.cache.HttpCache;
import io.portico.http.cache.Pending;
import io.portico.http.cache.Slices;
import io.portico.http.cache.Usability;
import io.portico.server.cache.CacheFill;
import io.portico.server.cache.RouteCache;
import io.portico.server.route.Route;

/**
 * Finds the slices of one object for a {@link SliceExchange}: slice {@code k} from the memory tier,
 * else from the disk tier (read off the event loop), else from the origin with {@code Range} by a
 * background {@link ProxyExchange} carrying a slice {@link CacheFill} — or by joining such a fetch
 * in flight, so that requests missing the same slice make one fetch. Slices that the request's
 * directives do not accept as they are (stale, {@code no-cache}) are fetched again.
 *
 * <p>One slice at a time; answers come on the client's event loop through {@link Receiver}.
 */
final class SliceSource {

    /** Whoever asked for a slice. */
    interface Receiver {
        /** Still waiting for the slice asked for (false once the client left). */
        boolean waiting();

        /** The slice, retained for the receiver (perhaps still filling); {@code fetched}: this request's own fetch. */
        void onSlice(CachedResponse slice, boolean fetched);

        /** The origin would not give the slice as a slice (it ignores Range, failed, or forbade storing). */
        void onUnavailable();

        /** Something broke while handing over a slice. */
        void onFailure(RuntimeException e);
    }

    private final Http1ProxyHandler client;
    private final Route route;
    private final RouteCache cache;
    private final String host;
    private final String uri;
    private final String baseKey;
    private final String url;
    private final HttpHeaders clientHeaders;
    private final EventExecutor loop;
    private final long sliceSize;
    private final CacheControl requestCc;
    private final boolean pragmaNoCache;
    private final String requestId;
    private final Receiver receiver;
    private final Runnable onSettled = this::settled;
    private Pending waitingOn;
    /** The fetch this request leads, until it settles. */
    private Pending lead;
    private long slice;
    private boolean anyFetched;

    SliceSource(Http1ProxyHandler client, Route route, String host, String uri, String baseKey, String url,
                HttpHeaders clientHeaders, String requestId, Receiver receiver) {
        this.client = client;
        this.route = route;
        this.cache = route.cache();
        this.host = host;
        this.uri = uri;
        this.baseKey = baseKey;
        this.url = url;
        this.clientHeaders = clientHeaders;
        this.loop = client.ctx().channel().eventLoop();
        this.sliceSize = cache.sliceSize();
        this.requestCc = CacheControl.of(clientHeaders);
        this.pragmaNoCache = !clientHeaders.contains(HttpHeaderNames.CACHE_CONTROL)
                && clientHeaders.containsValue(HttpHeaderNames.PRAGMA, HttpHeaderValues.NO_CACHE, true);
        this.requestId = requestId;
        this.receiver = receiver;
    }

    /** Whether any slice was fetched from the origin for this request. */
    boolean anyFetched() {
        return anyFetched;
    }

    /** Asks for slice {@code k}; the answer may come before this returns. */
    void get(long k) {
        slice = k;
        HttpCache store = cache.cache();
        String key = Slices.key(baseKey, k);
        CachedResponse found = store.get(key, clientHeaders);
        if (found != null) {
            if (usable(found)) {
                store.statsCounters().hit(false);
                receiver.onSlice(found, false);
                return;
            }
            found.release();
        } else if (store.hasDisk()) {
            String onDisk = store.onDisk(key, clientHeaders);
            if (onDisk != null) {
                // Read off the event loop; this continues on it once the slice is in memory.
                store.load(onDisk, loop, this::onDiskLoaded);
                return;
            }
        }
        fetch(k, key);
    }

    /**
     * Compares the slices {@code from..to} held in memory with {@code reference}: -2 when one
     * belongs to another representation, else the first of them that will have to be fetched, or -1.
     */
    long checkStored(HttpHeaders reference, long from, long to) {
        HttpCache store = cache.cache();
        long missing = -1;
        for (long k = from; k <= to; k++) {
            String key = Slices.key(baseKey, k);
            CachedResponse c = store.get(key, clientHeaders);
            if (c == null) {
                if (missing < 0 && store.onDisk(key, clientHeaders) == null) {
                    missing = k;
                }
                continue;
            }
            boolean same = Slices.sameRepresentation(reference, c.meta().headers());
            boolean usable = usable(c);
            c.release();
            if (!same) {
                return -2;
            }
            if (!usable && missing < 0) {
                missing = k;
            }
        }
        return missing;
    }

    private boolean usable(CachedResponse found) {
        return found.meta().usability(requestCc, pragmaNoCache, System.currentTimeMillis()) != Usability.NEEDS_VALIDATION;
    }

    private void onDiskLoaded(CachedResponse loaded) {
        if (!receiver.waiting()) {
            if (loaded != null) {
                loaded.release();
            }
            return;
        }
        try {
            if (loaded != null && usable(loaded)) {
                cache.cache().statsCounters().hit(false);
                receiver.onSlice(loaded, false);
                return;
            }
            if (loaded != null) {
                loaded.release();
            }
            fetch(slice, Slices.key(baseKey, slice));
        } catch (RuntimeException e) {
            receiver.onFailure(e);
        }
    }

    /** Fetches slice {@code k}, or joins the fetch of it in flight. */
    private void fetch(long k, String key) {
        HttpCache store = cache.cache();
        HttpCache.Join join = store.join(key, clientHeaders, loop, onSettled);
        switch (join.result()) {
            case LEAD -> {
                store.statsCounters().miss();
                anyFetched = true;
                Pending pending = join.pending();
                // This request waits for its own fetch like any other, and reads the slice as it fills.
                pending.await(loop, onSettled);
                waitingOn = pending;
                lead = pending;
                HttpRequest sub = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri, clientHeaders.copy());
                CacheFill fill = CacheFill.forSlice(cache, baseKey, key, url, clientHeaders, pending, k, sliceSize);
                // The origin sees the id of the client request the slice is fetched for.
                ProxyExchange.background(client, sub, route, host, fill, requestId).begin();
            }
            case PASS -> receiver.onUnavailable();
            default -> {
                if (join.object() != null) {
                    receiver.onSlice(join.object(), false);
                } else {
                    waitingOn = join.pending();
                }
            }
        }
    }

    /** Woken on this event loop: the slice fetch this request waits on has settled. */
    private void settled() {
        Pending p = waitingOn;
        if (p == null) {
            return;
        }
        waitingOn = null;
        boolean fetched = p == lead;
        lead = null;
        CachedResponse joined = p.joined(HttpCache.selector(clientHeaders), true);
        if (!receiver.waiting()) {
            // The client left while waiting: give the claim back.
            if (joined != null) {
                joined.release();
            }
            return;
        }
        try {
            if (joined == null) {
                receiver.onUnavailable();
            } else {
                // Fetched by this request, or by another it collapsed onto.
                receiver.onSlice(joined, fetched);
            }
        } catch (RuntimeException e) {
            receiver.onFailure(e);
        }
    }
}
