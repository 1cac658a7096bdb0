package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.portico.http.ForwardedHeaders;
import io.portico.http.cache.ByteRange;
import io.portico.http.cache.CachedResponse;
import io.portico.http.cache.Conditionals;
import io.portico.http.cache.Slices;
import io.portico.http.cache.StoredMeta;
import io.portico.server.cache.CacheFill;
import io.portico.server.cache.CacheStatus;
import io.portico.server.cache.RouteCache;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.route.Route;

/**
 * A GET (or a HEAD, with {@code convert_head}) on a route that caches large objects in slices,
 * for an object not stored whole. The response is assembled from slices, in order, each taken
 * from the store or fetched from the origin with {@code Range} by a {@link SliceSource} (one fetch
 * per slice at a time: requests missing the same slice collapse onto one fetch and read it while
 * it fills):
 * <pre>
 *   first slice ──▶ its Content-Range gives the length, its fields the validators
 *     └─▶ head (200 | 206 | 304 | 416) ──▶ stream slice k ──▶ slice k+1 … (fetched only when reached)
 * </pre>
 * Every slice must describe the same representation as the first ({@link Slices#sameRepresentation}).
 * When one does not, the object changed at the origin: its slices are purged, and the response
 * starts over if nothing was sent yet, else is cut (a client never gets a body spliced from two
 * versions). When the origin will not give a slice (it ignores Range, fails, or forbids storing)
 * before the head went out, the request is answered the ordinary way, by a {@link CacheExchange}
 * that does not slice.
 *
 * <p>Backpressure: chunks are written while the client is writable; slices further on are not
 * fetched before the client has taken the ones before them.
 */
final class SliceExchange extends Exchange implements Runnable, SliceSource.Receiver {

    private static final int OBTAINING = 0;
    private static final int STREAMING = 1;
    private static final int DONE = 2;
    /** Starts over after finding the object changed, before giving up with a 502. */
    private static final int MAX_RESTARTS = 2;

    private final Route route;
    private final RouteCache cache;
    private final String host;
    private final long maxBody;
    private final String uri;
    private final String baseKey;
    private final String url;
    private final HttpHeaders clientHeaders;
    private final ChannelHandlerContext clientCtx;
    private final long sliceSize;
    private final SliceSource source;
    private boolean clientKeepAlive;

    private int state = OBTAINING;
    private long slice;
    private CachedResponse current;
    /** The first slice's fields: every other slice must describe the same representation. */
    private HttpHeaders reference;
    private StoredMeta referenceMeta;
    private boolean referenceFetched;
    private long total = -1;
    /** The first and last byte of the representation to send. */
    private long first;
    private long last;
    /** Offset in the representation of the next chunk of {@link #current}. */
    private long position;
    private int index;
    private boolean headSent;
    private boolean paused;
    private boolean fetchingCurrent;
    private int restarts;
    /** Whether the stored slices of the range were checked against the first (once, before the head). */
    private boolean checked;
    /**
     * Probing: the first slice to send ({@link #held}) came from the store and a later one must be
     * fetched; that one's fields are checked before the head goes out, so that an object changed
     * at the origin restarts the answer instead of cutting it. The probed slice is kept for later.
     */
    private boolean probing;
    private CachedResponse held;
    private long heldIndex;
    private CachedResponse prefetched;
    private long prefetchedIndex = -1;
    private int status;
    private long bytes;

    SliceExchange(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route, String host,
                  long maxBody, String baseKey, String url, HttpHeaders clientHeaders, boolean clientKeepAlive) {
        super(client, request, log);
        this.route = route;
        this.cache = route.cache();
        this.host = host;
        this.maxBody = maxBody;
        this.uri = request.uri();
        this.baseKey = baseKey;
        this.url = url;
        this.clientHeaders = clientHeaders;
        this.clientCtx = client.ctx();
        this.sliceSize = cache.sliceSize();
        this.source = new SliceSource(client, route, host, uri, baseKey, url, clientHeaders, log.requestId, this);
        this.clientKeepAlive = clientKeepAlive;
    }

    @Override
    void begin() {
        client.context().lifecycle().requestStarted();
        obtain(firstWanted());
    }

    @Override
    boolean requestComplete() {
        return true;
    }

    @Override
    void onRequestContent(HttpContent content) {
        content.release();
    }

    @Override
    boolean wantsRequestBytes() {
        return false;
    }

    @Override
    void onRequestReadComplete() {
    }

    @Override
    void onClientWritabilityChanged(boolean writable) {
        if (writable && paused && state == STREAMING) {
            paused = false;
            stream();
        }
    }

    @Override
    void onClientClosed() {
        if (state == DONE) {
            return;
        }
        state = DONE;
        releaseCurrent();
        end(499, "client_closed");
    }

    /**
     * The slice to start from before the length is known: the one holding the first byte of a
     * {@code first-[last]} range; slice 0 for a whole response, a suffix range or an {@code If-Range}
     * (the first slice then tells the length and the validators).
     */
    private long firstWanted() {
        String range = clientHeaders.get(HttpHeaderNames.RANGE);
        if (head || range == null || clientHeaders.contains(HttpHeaderNames.IF_RANGE)) {
            return 0;
        }
        long first = ByteRange.firstOffset(range);
        return first < 0 ? 0 : Slices.sliceOf(first, sliceSize);
    }

    // ---- getting a slice ------------------------------------------------------------------------

    private void obtain(long k) {
        state = OBTAINING;
        slice = k;
        fetchingCurrent = false;
        if (prefetched != null && prefetchedIndex == k) {
            CachedResponse p = prefetched;
            prefetched = null;
            use(p);
            return;
        }
        source.get(k);
    }

    @Override
    public boolean waiting() {
        return state == OBTAINING;
    }

    @Override
    public void onSlice(CachedResponse o, boolean fetched) {
        fetchingCurrent = fetched;
        use(o);
    }

    @Override
    public void onUnavailable() {
        unavailable();
    }

    @Override
    public void onFailure(RuntimeException e) {
        failed(e);
    }

    /** Woken on this event loop: more of the slice being streamed arrived, or its fill ended. */
    @Override
    public void run() {
        if (state != STREAMING || paused) {
            return;
        }
        try {
            stream();
        } catch (RuntimeException e) {
            failed(e);
        }
    }

    private void failed(RuntimeException e) {
        // A task on the event loop has nobody to report to: end this response rather than hang it.
        LOG.log(System.Logger.Level.WARNING, "slice exchange failed for " + url, e);
        if (state != DONE) {
            cut("cache_internal_error");
        }
    }

    /** Slice {@link #slice} is here ({@code o}, retained for this exchange, perhaps still filling). */
    private void use(CachedResponse o) {
        HttpHeaders h = o.meta().headers();
        Slices.ContentRange range = Slices.contentRange(h);
        if (o.status() != 206 || !Slices.answers(range, slice, sliceSize)
                || reference != null && !Slices.sameRepresentation(reference, h)) {
            o.release();
            changed();
            return;
        }
        if (reference == null) {
            reference = h;
            referenceMeta = o.meta();
            referenceFetched = fetchingCurrent;
            total = range.total();
            long start = plan();
            if (start < 0) {
                o.release();
                sendHead();
                finishResponse();
                return;
            }
            if (start != slice) {
                // A suffix range: now that the length is known, start where it does.
                o.release();
                obtain(start);
                return;
            }
        }
        if (!headSent) {
            if (probing) {
                // The probed slice agrees with the first: send from the first, keep this one for later.
                probing = false;
                prefetched = o;
                prefetchedIndex = slice;
                o = held;
                held = null;
                slice = heldIndex;
            } else if (!checked) {
                checked = true;
                long missing = checkStored();
                if (missing == MISMATCH) {
                    o.release();
                    changed();
                    return;
                }
                if (missing >= 0 && !fetchingCurrent) {
                    held = o;
                    heldIndex = slice;
                    probing = true;
                    obtain(missing);
                    return;
                }
            }
            sendHead();
        }
        current = o;
        index = 0;
        position = Slices.start(slice, sliceSize);
        state = STREAMING;
        stream();
    }

    private static final long MISMATCH = -2;
    /** Stored slices compared before the head at most (the rest are checked as they are reached). */
    private static final int MAX_CHECKED = 1024;

    /**
     * Compares the slices of the range held in memory with the first: {@link #MISMATCH} when one
     * belongs to another version, else the first slice that will have to be fetched, or -1.
     */
    private long checkStored() {
        long end = Math.min(Slices.sliceOf(last, sliceSize), slice + MAX_CHECKED);
        return source.checkStored(reference, slice + 1, end);
    }

    /**
     * Decides the answer from the first slice's fields: sets {@link #status} (and the bytes to
     * send) and returns the slice the body starts in, or -1 when there is no body.
     */
    private long plan() {
        if (Conditionals.present(clientHeaders) && Conditionals.notModified(clientHeaders, reference)) {
            status = 304;
            return -1;
        }
        ByteRange range = head ? null : ByteRange.of(clientHeaders, reference, total);
        if (range == ByteRange.UNSATISFIABLE) {
            status = 416;
            return -1;
        }
        status = range == null ? 200 : 206;
        first = range == null ? 0 : range.first();
        last = range == null ? total - 1 : range.last();
        return head ? -1 : Slices.sliceOf(first, sliceSize);
    }

    /**
     * A slice does not belong with the others (the object changed at the origin, or an origin
     * answered a range it was not asked): its slices go, and the response starts over when nothing
     * was sent, else is cut.
     */
    private void changed() {
        cache.cache().purgeUrl(url);
        // A slice still being fetched is neither stored nor in the URL index yet (a range request
        // that took the first bytes of a slice leaves the rest of it filling): forget those fetches
        // too, or the restart joins the old version's fetch again, and again, and ends in 502.
        cache.cache().forgetFetches(Slices.keyPrefix(baseKey));
        if (headSent) {
            cut("slice_changed");
            return;
        }
        releaseCurrent();
        if (restarts++ < MAX_RESTARTS) {
            checked = false;
            probing = false;
            reference = null;
            referenceMeta = null;
            total = -1;
            obtain(firstWanted());
            return;
        }
        state = DONE;
        var r = LocalResponses.error(clientCtx.alloc(), HttpResponseStatus.BAD_GATEWAY, log.requestId, head);
        boolean keepAlive = clientKeepAlive && client.connectionReusable();
        LocalResponses.markClose(r, keepAlive, http10);
        decorate(r);
        bytes = r.content().readableBytes();
        ChannelFuture written = clientCtx.writeAndFlush(r);
        log.cacheStatus = CacheFill.LOG_MISS;
        end(502, "slice_inconsistent");
        client.exchangeDone(keepAlive, written);
    }

    /**
     * The origin would not give the slice as a slice (it ignores Range, failed, or forbade storing):
     * answer the ordinary way if nothing was sent yet, else cut the response.
     */
    private void unavailable() {
        if (headSent) {
            cut("slice_fetch_failed");
            return;
        }
        if (reference == null && slice != 0 && cache.slices(baseKey)) {
            // A range past the end (the origin's 416) or a slice it would not give: the first
            // slice tells the length, and with it the right answer (416 included).
            obtain(0);
            return;
        }
        state = DONE;
        releaseCurrent();
        Exchange whole = CacheExchange.startUnsliced(client, request, log, route, host, maxBody);
        client.replaceCurrent(whole);
        client.context().lifecycle().requestEnded();
        whole.begin();
    }

    // ---- answering ------------------------------------------------------------------------------

    private void sendHead() {
        HttpHeaders h = new DefaultHttpHeaders(false);
        if (status == 304 || status == 416) {
            CacheExchange.copy304Fields(reference, h);
        } else {
            h.set(reference);
        }
        h.remove(HttpHeaderNames.CONTENT_RANGE);
        switch (status) {
            case 304 -> h.remove(HttpHeaderNames.CONTENT_LENGTH);
            case 416 -> {
                h.set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + total);
                h.set(HttpHeaderNames.CONTENT_LENGTH, HttpHeaderValues.ZERO);
            }
            case 206 -> {
                h.set(HttpHeaderNames.CONTENT_RANGE, "bytes " + first + "-" + last + "/" + total);
                h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(last - first + 1));
            }
            default -> {
                h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(total));
                h.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
            }
        }
        long now = System.currentTimeMillis();
        h.set(HttpHeaderNames.AGE, Long.toString(Math.max(0, referenceMeta.currentAge(now) / 1000)));
        boolean keepAlive = clientKeepAlive && client.connectionReusable();
        clientKeepAlive = keepAlive;
        if (!keepAlive) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (http10) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        if (client.context().forwarding().via()) {
            ForwardedHeaders.addVia(h, ProxyExchange.PSEUDONYM);
        }
        h.set(client.context().requestIdHeader(), log.requestId);
        CacheStatus.add(h, referenceFetched ? CacheStatus.forward("miss", 206, true, false, "slice")
                : CacheStatus.hit(referenceMeta.ttl(now), "slice"));
        route.responseHeaders().apply(h);
        headSent = true;
        clientCtx.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), h),
                clientCtx.voidPromise());
    }

    private void stream() {
        Channel ch = clientCtx.channel();
        while (state == STREAMING) {
            CachedResponse o = current;
            if (index < o.chunkCount()) {
                if (!ch.isWritable()) {
                    paused = true;
                    clientCtx.flush();
                    return;
                }
                ByteBuf src = o.chunk(index++);
                int n = src.readableBytes();
                long start = position;
                position += n;
                if (position <= first) {
                    continue;
                }
                ByteBuf chunk = ByteRange.retainedPart(src, start, first, last);
                bytes += chunk.readableBytes();
                clientCtx.write(new DefaultHttpContent(chunk), clientCtx.voidPromise());
                if (position > last) {
                    finishResponse();
                    return;
                }
                continue;
            }
            if (o.isComplete()) {
                if (o.length() != Slices.contentRange(o.meta().headers()).length()) {
                    // The body disagrees with its own Content-Range: nothing after it can be trusted.
                    changed();
                    return;
                }
                current = null;
                o.release();
                obtain(slice + 1);
                return;
            }
            if (o.failed()) {
                // The fetch filling it broke off: the client sees a cut response, as from the origin.
                cut("cache_fill_failed");
                return;
            }
            if (o.awaitMore(index, ch.eventLoop(), this)) {
                clientCtx.flush();
                return;
            }
        }
    }

    private void finishResponse() {
        state = DONE;
        ChannelFuture written = clientCtx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        cache.cache().statsCounters().served(bytes);
        releaseCurrent();
        end(status, null);
        client.exchangeDone(clientKeepAlive, written);
    }

    /** Ends the response mid-body: the client sees it cut and the connection closed. */
    private void cut(String reason) {
        state = DONE;
        releaseCurrent();
        end(status == 0 ? 502 : status, reason);
        clientCtx.flush();
        clientCtx.close();
    }

    /** Releases the slices this exchange holds. */
    private void releaseCurrent() {
        if (current != null) {
            CachedResponse c = current;
            current = null;
            c.release();
        }
        if (held != null) {
            CachedResponse h = held;
            held = null;
            h.release();
        }
        if (prefetched != null) {
            CachedResponse p = prefetched;
            prefetched = null;
            p.release();
        }
    }

    private void end(int finalStatus, String error) {
        if (log.cacheStatus == null) {
            log.cacheStatus = source.anyFetched() ? CacheFill.LOG_MISS : "HIT";
        }
        client.context().lifecycle().requestEnded();
        finishLog(finalStatus, bytes, error);
    }
}
