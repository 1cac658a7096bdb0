package io.portico.server.cache;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.portico.http.cache.CacheControl;
import io.portico.http.cache.CachePolicy;
import io.portico.http.cache.CachedResponse;
import io.portico.http.cache.Compression;
import io.portico.http.cache.Conditionals;
import io.portico.http.cache.HttpCache;
import io.portico.http.cache.HttpDates;
import io.portico.http.cache.Pending;
import io.portico.http.cache.Slices;
import io.portico.http.cache.StoredMeta;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One origin fetch on behalf of the cache: it asks with the stored validators when there is a
 * stored response to revalidate, judges the response head, and either freshens the stored
 * response (304), stands the stale one in for a failing origin, or fills a new object while the
 * body streams. It settles the {@link Pending} other requests collapsed onto exactly once.
 *
 * <p>Single-threaded: every call comes from the event loop of the exchange that owns it.
 */
public final class CacheFill {

    /** What the caller does with the origin's response. */
    public enum Outcome {
        /** Pass it on; its body is being stored. */
        STORING,
        /** Pass it on; it is not stored ({@link #status()} says why). */
        PASS,
        /** The origin confirmed the stored response (304): serve {@link #stale()} instead. */
        NOT_MODIFIED,
        /** The origin failed; serve {@link #stale()} instead (stale-if-error or grace). */
        STALE_ON_ERROR,
        /**
         * The origin answered 304 for another representation than the stored one (its validator
         * does not match): the stored response is dropped and the request goes to the origin again
         * without validators ({@link #refetching()}).
         */
        REFETCH
    }

    /**
     * Fields a 304 does not change in the stored response: those RFC 9111 section 3.2 keeps, and
     * Set-Cookie, which is one client's and never stored (section 3.1 leaves such fields out of
     * what is stored, and a 304's fields are stored the same way).
     */
    private static final Set<String> KEPT_ON_UPDATE = Set.of("content-length", "content-encoding", "content-range",
            "transfer-encoding", "content-type", "set-cookie", "set-cookie2");

    /** Values for the access log's cache status (nginx's {@code $upstream_cache_status}). */
    public static final String LOG_MISS = "MISS";
    public static final String LOG_EXPIRED = "EXPIRED";
    public static final String LOG_REVALIDATED = "REVALIDATED";
    public static final String LOG_STALE = "STALE";
    /** The kind of a fill that revalidates a fresh stored response its request would not take (see forwardKind). */
    public static final String REQUEST = "request";

    private final RouteCache route;
    private final String baseKey;
    private final String url;
    private final HttpHeaders clientHeaders;
    private final CacheControl requestCc;
    private final Pending pending;
    private CachedResponse stale;
    private CachedResponse object;
    private boolean settled;
    private long requestTime;
    /** The cache's purge mark when the request was sent: a purge after it keeps the object from being stored. */
    private long purgeMark;
    private String status;
    private String logStatus;
    private final String missKind;
    /** For a slice fetch: the slice asked for and the route's slice size; -1 for a whole object. */
    private long sliceIndex = -1;
    private long sliceSize;
    private String wholeKey;
    private boolean refetch;

    /**
     * @param clientHeaders the request's fields as the client sent them (a copy the fill keeps)
     * @param pending       the fetch others wait on, or null
     * @param stale         a stored response to revalidate (the fill takes over this reference), or null
     * @param missKind      {@code Cache-Status}'s fwd without a stored response ("miss"), or {@link #REQUEST}
     *                      when {@code stale} is fresh and only the request's directives refused it
     */
    public CacheFill(RouteCache route, String baseKey, String url, HttpHeaders clientHeaders, Pending pending,
                     CachedResponse stale, String missKind) {
        this.route = route;
        this.baseKey = baseKey;
        this.url = url;
        this.clientHeaders = clientHeaders;
        this.requestCc = CacheControl.of(clientHeaders);
        this.pending = pending;
        this.stale = stale;
        this.missKind = missKind;
        this.settled = pending == null;
        this.logStatus = stale != null ? LOG_EXPIRED : LOG_MISS;
        this.purgeMark = route.cache().purgeMark();
    }

    /**
     * A fetch of slice {@code index} of the object under {@code wholeKey}, stored under
     * {@code sliceBaseKey}: the origin is asked for the slice's byte range, and only a 206 with
     * exactly that range is stored (as a 206 with its {@code Content-Range}). A 200 means the
     * origin ignores Range: the route then caches that URL whole for a while.
     */
    public static CacheFill forSlice(RouteCache route, String wholeKey, String sliceBaseKey, String url,
                                     HttpHeaders clientHeaders, Pending pending, long index, long sliceSize) {
        CacheFill f = new CacheFill(route, sliceBaseKey, url, clientHeaders, pending, null, "miss");
        f.sliceIndex = index;
        f.sliceSize = sliceSize;
        f.wholeKey = wholeKey;
        return f;
    }

    /**
     * Turns the upstream request into the cache's own: the client's validators and ranges go (the
     * cache wants the whole response, and answers the client's preconditions itself), the stored
     * response's validators come in.
     */
    public void prepare(HttpHeaders upstream) {
        if (pending != null || stale != null || sliceIndex >= 0) {
            // The fetch is the cache's: the client's preconditions are not asked of the origin.
            // If-None-Match and If-Modified-Since are answered from what it stores; If-Match and
            // If-Unmodified-Since do not apply to a cache (RFC 9111 section 4.3.2), and forwarded
            // they let any client turn the fill into a 412, which would drop the stored response
            // being revalidated and mark the key uncacheable.
            upstream.remove(HttpHeaderNames.IF_NONE_MATCH);
            upstream.remove(HttpHeaderNames.IF_MODIFIED_SINCE);
            upstream.remove(HttpHeaderNames.IF_MATCH);
            upstream.remove(HttpHeaderNames.IF_UNMODIFIED_SINCE);
            upstream.remove(HttpHeaderNames.IF_RANGE);
            upstream.remove(HttpHeaderNames.RANGE);
        }
        // Else nobody waits on this fetch and the key is recently uncacheable (too large, private,
        // not this variant): the client's range and preconditions go to the origin as sent, so a
        // seek in a video is a 206 and a revalidation a 304, not the whole object again. A full
        // answer is still stored when it turns out storable.
        if (sliceIndex >= 0) {
            // The slice is checked against the others by its validators.
            upstream.set(HttpHeaderNames.RANGE, Slices.rangeHeader(sliceIndex, sliceSize));
        }
        if (stale != null) {
            HttpHeaders s = stale.meta().headers();
            String etag = s.get(HttpHeaderNames.ETAG);
            String lastModified = s.get(HttpHeaderNames.LAST_MODIFIED);
            if (etag != null) {
                upstream.set(HttpHeaderNames.IF_NONE_MATCH, etag);
            }
            if (lastModified != null) {
                upstream.set(HttpHeaderNames.IF_MODIFIED_SINCE, lastModified);
            }
        }
        requestTime = System.currentTimeMillis();
        purgeMark = route.cache().purgeMark();
    }

    /**
     * Judges the response head (hop-by-hop fields already removed, nothing of Portico's added yet).
     */
    public Outcome onHead(HttpResponse response) {
        long now = System.currentTimeMillis();
        int code = response.status().code();
        HttpHeaders headers = response.headers();
        HttpCache cache = route.cache();
        if (stale != null && code == 304) {
            HttpHeaders storedHeaders = stale.meta().headers();
            if (!Conditionals.identifiesForUpdate(storedHeaders, headers)) {
                // RFC 9111 section 4.3.4: a 304 whose validator matches no stored response must not
                // update it; the stored bytes are not what the origin now has.
                route.cache().purgeKey(stale.key());
                status = CacheStatus.forward(forwardKind(), 304, false, false, "validator-mismatch");
                refetch = true;
                settle(false);
                return Outcome.REFETCH;
            }
            HttpHeaders merged = storedHeaders.copy();
            for (Map.Entry<String, String> e : headers) {
                if (updates(e.getKey())) {
                    merged.remove(e.getKey());
                }
            }
            for (Map.Entry<String, String> e : headers) {
                if (updates(e.getKey())) {
                    merged.add(e.getKey(), e.getValue());
                }
            }
            // The stored response's age is now the 304's (section 4.2.3 with the new request and
            // response times): the old Date and Age describe the response as it was first
            // received, and kept, they made it as old after the validation as before. A 304
            // without Date gets the time it arrived (RFC 9110 section 6.6.1); without Age it is new.
            if (!headers.contains(HttpHeaderNames.DATE)) {
                merged.set(HttpHeaderNames.DATE, HttpDates.format(now));
            }
            if (!headers.contains(HttpHeaderNames.AGE)) {
                merged.remove(HttpHeaderNames.AGE);
            }
            strip(merged, CachePolicy.fieldsToStrip(CacheControl.of(merged), route.rules()));
            merged.remove(CacheStatus.HEADER);
            String refused = CachePolicy.notStorable(HttpMethod.GET, clientHeaders, requestCc, stale.status(), merged,
                    CacheControl.of(merged), route.rules());
            cache.statsCounters().revalidated();
            logStatus = LOG_REVALIDATED;
            if (refused != null) {
                // The origin confirms the stored response for this request but no longer lets a
                // shared cache keep it (private, no-store now): it answers this request, as it
                // was, and nobody else's.
                route.cache().purgeKey(stale.key());
                status = CacheStatus.forward(forwardKind(), 304, false, false, refused);
                settle(true);
                return Outcome.NOT_MODIFIED;
            }
            stale.freshen(StoredMeta.of(stale.status(), merged, route.rules(), requestTime, now));
            cache.freshened(stale);
            status = CacheStatus.forward(forwardKind(), 304, false, false, null);
            publishExisting(stale);
            return Outcome.NOT_MODIFIED;
        }
        if (code >= 500 && staleUsableOnError(now)) {
            cache.statsCounters().staleOnError();
            status = CacheStatus.forward(forwardKind(), code, false, false, "stale-if-error");
            logStatus = LOG_STALE;
            publishExisting(stale);
            return Outcome.STALE_ON_ERROR;
        }
        HttpMethod method = HttpMethod.GET;
        int policyStatus = code;
        HttpHeaders judged = headers;
        if (sliceIndex >= 0) {
            if (code == 200) {
                // The origin ignores Range: this URL is cached whole from now on.
                route.markUnsliced(wholeKey);
                return pass(code, "range-ignored", false);
            }
            if (code != 206) {
                return pass(code, null, false);
            }
            if (!Slices.answers(Slices.contentRange(headers), sliceIndex, sliceSize)) {
                return pass(code, "slice-range", false);
            }
            String etag = headers.get(HttpHeaderNames.ETAG);
            if (etag != null && etag.trim().startsWith("W/")) {
                // A weak tag does not promise the same bytes, so slices could not be checked
                // against each other: this URL is cached whole instead.
                route.markUnsliced(wholeKey);
                return pass(code, "weak-etag", false);
            }
            if (etag == null && headers.contains(HttpHeaderNames.LAST_MODIFIED)
                    && HttpDates.strongLastModified(headers) == HttpDates.INVALID) {
                // Nor does a Last-Modified from the second the response was made (RFC 9110
                // section 8.8.2.2): two versions within it share it. Cached whole instead.
                route.markUnsliced(wholeKey);
                return pass(code, "weak-last-modified", false);
            }
            // A slice is as storable as the whole response it is part of (the policy refuses
            // partial responses that would be stored as if they were whole).
            policyStatus = 200;
            judged = headers.copy().remove(HttpHeaderNames.CONTENT_RANGE);
        }
        String reason = CachePolicy.notStorable(method, clientHeaders, requestCc, policyStatus, judged,
                CacheControl.of(headers), route.rules());
        long length = HttpUtil.getContentLength(response, -1L);
        if (reason == null && length > route.rules().maxObjectSize()) {
            reason = "too-large";
        }
        if (reason != null) {
            // Too large stays too large: the next requests skip collapsing and keep their ranges.
            return pass(code, reason, !reason.equals("request-no-store"));
        }
        HttpHeaders stored = new DefaultHttpHeaders(false);
        stored.set(headers);
        strip(stored, CachePolicy.fieldsToStrip(CacheControl.of(headers), route.rules()));
        // The upstream caches' verdicts described this fetch, not the hits to come.
        stored.remove(CacheStatus.HEADER);
        if (!stored.contains(HttpHeaderNames.DATE)) {
            // A cache with a clock adds the Date an origin left out (RFC 9110 section 6.6.1).
            stored.set(HttpHeaderNames.DATE, HttpDates.format(now));
            headers.set(HttpHeaderNames.DATE, stored.get(HttpHeaderNames.DATE));
        }
        StoredMeta meta = StoredMeta.of(policyStatus, stored, route.rules(), requestTime, now);
        if (meta.lifetime() == 0 && !stored.contains(HttpHeaderNames.ETAG) && !stored.contains(HttpHeaderNames.LAST_MODIFIED)
                && meta.staleIfError() == CacheControl.ABSENT && route.rules().staleIfError().isZero()) {
            // Stale on arrival, nothing to revalidate with, never to be served on error: storing it gains nothing.
            return pass(code, "stale-on-arrival", true);
        }
        object = cache.newObject(baseKey, url, code, clientHeaders, meta, HttpCache.tags(headers), route.rules());
        if (pending != null && !settled && length >= 0) {
            // Others read it while it fills. Without a Content-Length it could still outgrow the
            // object limit and end for them mid-body: they wait for it whole (onComplete) instead.
            settled = true;
            pending.publish(object);
        }
        status = CacheStatus.forward(forwardKind(), code, true, false, null);
        if (route.variesOnEncoding(code, headers)) {
            // Later clients may get a gzip copy of this response: this one must say so too.
            Compression.addVaryAcceptEncoding(headers);
        }
        return Outcome.STORING;
    }

    /**
     * Why the request went forward, in {@code Cache-Status} terms (RFC 9211 section 2.2): the kind
     * of miss, or, with a stored response, {@code stale}, or {@code request} when the stored one
     * was fresh and only the request's directives (no-cache, max-age=0) kept it from being used.
     */
    private String forwardKind() {
        return stale == null || REQUEST.equals(missKind) ? missKind : "stale";
    }

    private static boolean updates(String name) {
        return !KEPT_ON_UPDATE.contains(name.toLowerCase(Locale.ROOT));
    }

    private Outcome pass(int code, String reason, boolean uncacheable) {
        if (stale != null && code < 500) {
            // The origin has a newer answer that is not stored: the old one must not be served again.
            route.cache().purgeKey(stale.key());
        }
        status = CacheStatus.forward(forwardKind(), code, false, false, reason);
        settle(uncacheable);
        return Outcome.PASS;
    }

    /** Whether a failed fetch (no response) may be answered with the stale response instead. */
    public boolean staleUsableOnError(long now) {
        return stale != null && stale.meta().usableOnError(requestCc, route.rules().staleIfError().toMillis(), now);
    }

    /** The origin could not be reached or answered garbage: serve stale when allowed. */
    public boolean onOriginFailure() {
        if (object != null || !staleUsableOnError(System.currentTimeMillis())) {
            return false;
        }
        route.cache().statsCounters().staleOnError();
        status = CacheStatus.forward(forwardKind(), 0, false, false, "stale-if-error");
        logStatus = LOG_STALE;
        publishExisting(stale);
        return true;
    }

    /** A part of the body; the caller keeps {@code data}. */
    public void onContent(ByteBuf data) {
        if (object == null) {
            return;
        }
        if (!object.append(data)) {
            // Past max_object_size: the URL is not stored for a while, and whoever waits for it
            // (it was not published: no Content-Length) goes to the origin on its own.
            abandon(true);
        }
    }

    /** The body ended: the object is stored. */
    public void onComplete() {
        if (object == null) {
            settle(false);
            return;
        }
        CachedResponse o = object;
        object = null;
        o.complete();
        route.cache().store(o, route.rules().maxVariants(), purgeMark);
        if (pending != null) {
            if (!settled) {
                settled = true;
                pending.publish(o);
            }
            pending.finished();
        }
        o.release();
    }

    /** The fetch broke off: nothing is stored, readers of the object see it end early. */
    public void onFailure() {
        abandon(false);
        settle(false);
    }

    private void abandon(boolean uncacheable) {
        if (object != null) {
            CachedResponse o = object;
            object = null;
            o.fail();
            if (pending != null) {
                if (settled) {
                    pending.finished();
                } else {
                    settle(uncacheable);
                }
            }
            o.release();
        }
    }

    private void publishExisting(CachedResponse existing) {
        if (pending != null && !settled) {
            settled = true;
            pending.publish(existing);
            pending.finished();
        }
    }

    private void settle(boolean uncacheable) {
        if (!settled) {
            settled = true;
            pending.pass(uncacheable);
        }
    }

    /** Whether the body is being stored. */
    public boolean storing() {
        return object != null;
    }

    /** Whether the origin's 304 did not match the stored response and the request must go again. */
    public boolean refetching() {
        return refetch;
    }

    /** The stored response this fetch revalidates, or null. */
    public CachedResponse stale() {
        return stale;
    }

    /** The {@code Cache-Status} value for the response this fetch produced. */
    public String status() {
        return status;
    }

    /**
     * The access log's cache status for this fetch: MISS, EXPIRED (a stored response was too old and
     * the origin sent a new one), REVALIDATED (the origin answered 304) or STALE (the stored response
     * stood in for a failing origin).
     */
    public String logStatus() {
        return logStatus;
    }

    /** Releases what the fill still holds; safe to call more than once. */
    public void close() {
        onFailure();
        if (stale != null) {
            CachedResponse s = stale;
            stale = null;
            s.release();
        }
    }

    private static void strip(HttpHeaders headers, List<String> names) {
        for (String n : names) {
            headers.remove(n);
        }
    }
}
