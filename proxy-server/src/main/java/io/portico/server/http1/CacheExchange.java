package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.portico.http.ForwardedHeaders;
import io.portico.http.cache.ByteRange;
import io.portico.http.cache.CacheControl;
import io.portico.http.cache.CacheKeyTemplate;
import io.portico.http.cache.CachedResponse;
import io.portico.http.cache.Compression;
import io.portico.http.cache.Conditionals;
import io.portico.http.cache.HttpCache;
import io.portico.http.cache.MultipartByteRanges;
import io.portico.http.cache.Pending;
import io.portico.http.cache.StoredMeta;
import io.portico.http.cache.Usability;
import io.portico.server.cache.CacheFill;
import io.portico.server.cache.CacheStatus;
import io.portico.server.cache.RouteCache;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.route.Route;

import java.util.List;
import java.util.Locale;

/**
 * A GET or HEAD on a route that caches. Once the request has fully arrived it is looked up:
 * a usable stored response is streamed from the store (with {@code Age}, 304 for a matching
 * precondition, head only for HEAD), a fetch in flight for the same key is joined (its object is
 * read while it fills), and otherwise the request goes upstream through a {@link ProxyExchange}
 * carrying a {@link CacheFill}, which may hand the client back here to be answered from the store
 * after a 304 or an origin failure.
 *
 * <p>Streaming a stored body: retained duplicates of its off-heap chunks are written while the
 * client is writable; when it is not, writing resumes on {@link #onClientWritabilityChanged};
 * when the object is still filling, {@link #run} is called on this event loop as bytes arrive.
 */
final class CacheExchange extends Exchange implements Runnable {

    private static final int WAITING_REQUEST = 0;
    private static final int WAITING_DISK = 1;
    private static final int WAITING_FETCH = 2;
    private static final int PROXYING = 3;
    private static final int STREAMING = 4;
    private static final int DONE = 5;

    private static final Runnable NO_WAKEUP = () -> { };

    private final Route route;
    private final RouteCache cache;
    private final String host;
    private final long maxBody;
    private final String uri;
    /** The request's fields as the client sent them (a copy once a proxy exchange may rewrite the request). */
    private HttpHeaders clientHeaders;
    private boolean headersCopied;
    private final String baseKey;
    private final String url;
    private final ChannelHandlerContext clientCtx;
    private int state = WAITING_REQUEST;
    private boolean requestComplete;
    private boolean clientKeepAlive;
    private CachedResponse stale;
    private CachedResponse object;
    private Pending waitingOn;
    private int index;
    private long bytes;
    private boolean paused;
    private int status;
    /** Byte offset in the body of the next chunk to write. */
    private long position;
    private long rangeFirst;
    private long rangeLast = Long.MAX_VALUE;
    /** Several ranges answered as multipart/byteranges, or null; {@link #part} is the one being sent. */
    private MultipartByteRanges multipart;
    private int part;
    /** Answers the ordinary way even on a route that slices (a slice exchange gave the request back). */
    private boolean noSlices;

    private CacheExchange(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route,
                          String host, long maxBody) {
        super(client, request, log);
        this.route = route;
        this.cache = route.cache();
        this.host = host == null ? "" : host;
        this.maxBody = maxBody;
        this.uri = request.uri();
        this.clientCtx = client.ctx();
        this.clientHeaders = request.headers();
        String scheme = client.context().scheme();
        // The Host the origin sees: the one the route sets for it, else the client's.
        String originHost = route.originHost();
        this.baseKey = cache.baseKey(scheme, keyAuthority(scheme,
                originHost != null ? originHost : clientHeaders.get(HttpHeaderNames.HOST), this.host), uri, clientHeaders);
        this.url = CacheKeyTemplate.url(scheme, purgeHost(route, this.host), uri);
        this.clientKeepAlive = HttpUtil.isKeepAlive(request);
    }

    /**
     * The host a key names: the {@code Host} the origin will see (for an absolute-form target its
     * authority), in lower case, with its port unless it is the scheme's default. Routing's host
     * drops the port and a trailing dot, but an origin may answer {@code example.com:1337} or
     * {@code example.com.} differently from {@code example.com} (links, redirects, a virtual host
     * per port): one key for all of them would let anybody's odd Host decide what everybody gets.
     * The URL that purges match stays the routing host's, so a purge reaches every variant.
     */
    static String keyAuthority(String scheme, String hostField, String routingHost) {
        if (hostField == null || hostField.isEmpty()) {
            return routingHost;
        }
        String a = hostField.trim().toLowerCase(Locale.ROOT);
        String defaultPort = "https".equals(scheme) ? ":443" : ":80";
        return a.endsWith(defaultPort) ? a.substring(0, a.length() - defaultPort.length()) : a;
    }

    /**
     * A GET or HEAD, complete, that a {@link SliceExchange} gives back because its object cannot be
     * had in slices: answered from a whole stored object or with an ordinary fetch.
     */
    static Exchange startUnsliced(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route,
                                  String host, long maxBody) {
        CacheExchange x = new CacheExchange(client, request, log, route, host, maxBody);
        x.noSlices = true;
        x.requestComplete = true;
        return x;
    }

    /**
     * The host of the URL purges and invalidations go by: the Host the route sets for its origin
     * when it sets one (every client alias then shares the origin's objects, and a purge by the
     * origin's URL reaches them), else the routing host (port-less, so a purge reaches every port).
     */
    static String purgeHost(Route route, String routingHost) {
        String normal = route.originHostNormal();
        return normal != null ? normal : routingHost;
    }

    /** The exchange for a request on a route with a cache. */
    static Exchange start(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route,
                          String host, long maxBody) {
        HttpMethod m = request.method();
        boolean bodyless = !HttpUtil.isTransferEncodingChunked(request) && HttpUtil.getContentLength(request, 0L) == 0;
        if ((m == HttpMethod.GET || m == HttpMethod.HEAD) && bodyless) {
            return new CacheExchange(client, request, log, route, host, maxBody);
        }
        ProxyExchange p = ProxyExchange.start(client, request, log, route, host, maxBody, false);
        route.cache().cache().statsCounters().bypassed();
        boolean safe = m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.TRACE;
        if (!safe) {
            p.invalidateOnSuccess(route.cache(), purgeHost(route, host == null ? "" : host));
        }
        p.cacheStatus(CacheStatus.forward(safe ? "bypass" : "method", 0, false, false, null));
        return p;
    }

    @Override
    void begin() {
        client.context().lifecycle().requestStarted();
        if (requestComplete) {
            decide();
        }
    }

    @Override
    boolean requestComplete() {
        return requestComplete;
    }

    @Override
    void onRequestContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        content.release();
        if (last && !requestComplete) {
            requestComplete = true;
            if (state == WAITING_REQUEST) {
                decide();
            }
        }
    }

    @Override
    boolean wantsRequestBytes() {
        return !requestComplete;
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
        releaseObjects();
        end(499, "client_closed");
    }

    // ---- lookup ---------------------------------------------------------------------------------

    private void decide() {
        HttpCache store = cache.cache();
        CachedResponse found = store.get(baseKey, clientHeaders);
        if (found == null && store.hasDisk()) {
            String key = store.onDisk(baseKey, clientHeaders);
            if (key != null) {
                // Read off the event loop; the answer continues here when the bytes are in memory.
                state = WAITING_DISK;
                store.load(key, clientCtx.channel().eventLoop(), this::onDiskLoaded);
                return;
            }
        }
        decide(found);
    }

    private void onDiskLoaded(CachedResponse loaded) {
        if (state != WAITING_DISK) {
            if (loaded != null) {
                loaded.release();
            }
            return;
        }
        decide(loaded);
    }

    private void decide(CachedResponse found) {
        HttpCache store = cache.cache();
        long now = System.currentTimeMillis();
        CacheControl requestCc = CacheControl.of(clientHeaders);
        boolean pragmaNoCache = !clientHeaders.contains(HttpHeaderNames.CACHE_CONTROL)
                && clientHeaders.containsValue(HttpHeaderNames.PRAGMA, HttpHeaderValues.NO_CACHE, true);
        if (found != null) {
            StoredMeta meta = found.meta();
            Usability use = meta.usability(requestCc, pragmaNoCache, now);
            if (use != Usability.NEEDS_VALIDATION) {
                store.statsCounters().hit(use != Usability.FRESH);
                String detail = use == Usability.FRESH ? null
                        : use == Usability.STALE_ACCEPTED ? "max-stale" : "stale-while-revalidate";
                if (use == Usability.STALE_WHILE_REVALIDATE) {
                    revalidateInBackground(found);
                }
                // nginx's words: UPDATING while a refresh runs, STALE when the client accepted it.
                log.cacheStatus = use == Usability.FRESH ? "HIT" : use == Usability.STALE_ACCEPTED ? "STALE" : "UPDATING";
                serve(found, CacheStatus.hit(meta.ttl(now), detail));
                return;
            }
        }
        if (requestCc.onlyIfCached()) {
            // RFC 9111 section 5.2.1.7: nothing usable stored, and the client forbids going upstream.
            if (found != null) {
                found.release();
            }
            log.cacheStatus = CacheFill.LOG_MISS;
            answerGatewayTimeout();
            return;
        }
        if (head && !cache.convertHead() || requestCc.noStore()) {
            // Without convert_head a HEAD cannot fill a GET's object; a no-store request's answer
            // must not be stored.
            if (found != null) {
                found.release();
            }
            store.statsCounters().bypassed();
            proxy(null, CacheStatus.forward(head ? "method" : "request", 0, false, false, null));
            return;
        }
        if (found == null && !noSlices && cache.slices(baseKey)) {
            // Not stored whole: assembled from slices, fetching those missing.
            state = PROXYING;
            keepClientHeaders();
            SliceExchange slices = new SliceExchange(client, request, log, route, host, maxBody, baseKey, url,
                    clientHeaders, clientKeepAlive);
            client.replaceCurrent(slices);
            client.context().lifecycle().requestEnded();
            slices.begin();
            return;
        }
        stale = found;
        HttpCache.Join join = store.join(baseKey, clientHeaders, clientCtx.channel().eventLoop(), this);
        switch (join.result()) {
            case LEAD -> fetch(join.pending());
            case PASS -> fetch(null);
            default -> {
                if (join.object() != null) {
                    serveCollapsed(join.object());
                } else {
                    state = WAITING_FETCH;
                    waitingOn = join.pending();
                }
            }
        }
    }

    /** Woken on this event loop: a fetch this request waits on has settled, or more bytes arrived. */
    @Override
    public void run() {
        try {
            resume();
        } catch (RuntimeException e) {
            // A task on the event loop has nobody to report to: end this response rather than hang it.
            LOG.log(System.Logger.Level.WARNING, "cache exchange failed for " + url, e);
            if (state != DONE) {
                state = DONE;
                releaseObjects();
                end(status == 0 ? 500 : status, "cache_internal_error");
            }
            clientCtx.close();
        }
    }

    private void resume() {
        if (waitingOn != null) {
            Pending p = waitingOn;
            waitingOn = null;
            CachedResponse joined = p.joined(HttpCache.selector(clientHeaders), true);
            if (state != WAITING_FETCH) {
                // The client left while waiting: give the claim back.
                if (joined != null) {
                    joined.release();
                }
                return;
            }
            if (joined != null) {
                serveCollapsed(joined);
            } else {
                // Not storable, or not this variant: go to the origin without collapsing.
                fetch(null);
            }
        } else if (state == STREAMING) {
            stream();
        }
    }

    private void serveCollapsed(CachedResponse joined) {
        if (stale != null) {
            stale.release();
            stale = null;
        }
        cache.cache().statsCounters().hit(false);
        // As nginx's proxy_cache_lock: a request that waited for another's fetch is a hit.
        log.cacheStatus = "HIT";
        serve(joined, CacheStatus.forward("miss", 0, false, true, null));
    }

    /** Sends the request upstream with a fill (storing, revalidating {@link #stale} when set). */
    private void fetch(Pending pending) {
        cache.cache().statsCounters().miss();
        keepClientHeaders();
        // A stored response that is fresh but that the request refused (no-cache, max-age=0) says
        // so in Cache-Status (fwd=request, RFC 9211 section 2.2), not fwd=stale.
        boolean refusedFresh = stale != null
                && stale.meta().usability(CacheControl.NONE, false, System.currentTimeMillis()) == Usability.FRESH;
        CacheFill fill = new CacheFill(cache, baseKey, url, clientHeaders, pending, stale,
                refusedFresh ? CacheFill.REQUEST : "miss");
        stale = null;
        log.cacheStatus = fill.logStatus();
        proxy(fill, null);
    }

    /** The proxy exchange rewrites the request's fields in place; the cache needs them as sent. */
    private void keepClientHeaders() {
        if (!headersCopied) {
            headersCopied = true;
            clientHeaders = clientHeaders.copy();
        }
    }

    private void proxy(CacheFill fill, String cacheStatus) {
        keepClientHeaders();
        state = PROXYING;
        boolean convertHead = head && fill != null;
        if (convertHead) {
            // The HEAD goes upstream as GET so its body fills the cache; the client gets the head.
            request.setMethod(HttpMethod.GET);
        }
        ProxyExchange p = ProxyExchange.start(client, request, log, route, host, maxBody, false);
        if (convertHead) {
            p.headOnly();
        }
        if (fill != null) {
            p.cacheFill(fill, this);
        } else {
            p.cacheStatus(cacheStatus);
        }
        // The request is complete and has no body: the proxy exchange sends its end at once.
        p.onRequestContent(LastHttpContent.EMPTY_LAST_CONTENT);
        client.replaceCurrent(p);
        client.context().lifecycle().requestEnded();
        p.begin();
    }

    /** Back from the origin: answer from the stored response the fill freshened or kept for errors. */
    void resumeFromStore(CacheFill fill) {
        client.replaceCurrent(this);
        client.context().lifecycle().requestStarted();
        if (fill.refetching()) {
            // The origin's 304 was for another representation than the stored one, which is gone
            // now: ask again, as the client did, without validators and without collapsing.
            fill.close();
            // The first attempt rewrote the request's head in place for its upstream.
            request.headers().set(clientHeaders);
            request.setProtocolVersion(http10 ? HttpVersion.HTTP_1_0 : HttpVersion.HTTP_1_1);
            fetch(null);
            return;
        }
        CachedResponse s = fill.stale().retain();
        String value = fill.status();
        log.cacheStatus = fill.logStatus();
        fill.close();
        serve(s, value);
    }

    private void revalidateInBackground(CachedResponse found) {
        HttpCache.Join join = cache.cache().join(baseKey, clientHeaders, clientCtx.channel().eventLoop(), NO_WAKEUP);
        if (join.result() != HttpCache.JoinResult.LEAD) {
            // Somebody is fetching it already.
            if (join.object() != null) {
                join.object().release();
            }
            return;
        }
        HttpRequest copy = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri, clientHeaders.copy());
        CacheFill fill = new CacheFill(cache, baseKey, url, clientHeaders.copy(), join.pending(), found.retain(), "stale");
        // The origin sees the id of the request that triggered the refresh, so it can be traced.
        ProxyExchange.background(client, copy, route, host, fill, log.requestId).begin();
    }

    // ---- serving from the store -----------------------------------------------------------------

    /** Answers with {@code stored} (this exchange takes over the reference). */
    private void serve(CachedResponse served, String cacheStatus) {
        state = STREAMING;
        CachedResponse stored = served;
        boolean compressible = cache.compressible(stored);
        // A HEAD gets the head the same GET would get: the coded copy's, when there is one.
        Compression.Coding coding = compressible && (head || request.method() == HttpMethod.GET)
                && !clientHeaders.contains(HttpHeaderNames.RANGE) ? Compression.choose(clientHeaders) : null;
        if (coding != null) {
            // The copy made once from this response in the client's preferred coding, when it is
            // ready; until then, identity.
            CachedResponse encoded = cache.cache().compression().compressedOf(stored, coding,
                    clientCtx.channel().eventLoop());
            if (encoded != null) {
                stored.release();
                stored = encoded;
            }
        }
        object = stored;
        long now = System.currentTimeMillis();
        StoredMeta meta = stored.meta();
        boolean notModified = stored.status() / 100 == 2 && Conditionals.present(clientHeaders)
                && Conditionals.notModified(clientHeaders, meta.headers());
        ByteRange range = null;
        if (!notModified && !head && stored.status() == 200 && stored.isComplete()
                && request.method() == HttpMethod.GET) {
            List<ByteRange> ranges = ByteRange.all(clientHeaders, meta.headers(), stored.length());
            if (ranges != null && ranges.size() > 1) {
                multipart = new MultipartByteRanges(ranges, meta.headers().get(HttpHeaderNames.CONTENT_TYPE),
                        stored.length());
                range = ranges.get(0);
            } else if (ranges != null) {
                range = ranges.get(0);
            }
        }
        int code = notModified ? 304 : range == ByteRange.UNSATISFIABLE ? 416 : range != null ? 206 : stored.status();
        if (code == stored.status() && code != 204 && code != 304 && !head && !http10 && stored.isComplete()
                && clientKeepAlive && client.connectionReusable() && client.encodesHeads()) {
            HitHead encoded = HitHead.of(stored, meta, route, cache, client.context());
            if (encoded != null) {
                serveEncoded(stored, encoded, meta.currentAge(now), cacheStatus);
                return;
            }
        }
        HttpHeaders h = new DefaultHttpHeaders(false);
        if (notModified || code == 416) {
            copy304Fields(meta.headers(), h);
        } else {
            h.set(meta.headers());
        }
        if (code == 200 && stored.isComplete() && !h.contains(HttpHeaderNames.ACCEPT_RANGES)) {
            h.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
        }
        if (code != 416 && cache.variesOnEncoding(stored.status(), meta.headers())) {
            Compression.addVaryAcceptEncoding(h);
        }
        h.set(HttpHeaderNames.AGE, Long.toString(Math.max(0, meta.currentAge(now) / 1000)));
        boolean keepAlive = clientKeepAlive && client.connectionReusable();
        boolean bodyless = head || code == 304 || code == 204 || code == 416;
        if (code == 204 || code == 304) {
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
        } else if (code == 416) {
            h.set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + stored.length());
            h.set(HttpHeaderNames.CONTENT_LENGTH, HttpHeaderValues.ZERO);
        } else if (code == 206) {
            rangeFirst = range.first();
            rangeLast = range.last();
            if (multipart != null) {
                h.set(HttpHeaderNames.CONTENT_TYPE, multipart.contentType());
                h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(multipart.contentLength()));
            } else {
                h.set(HttpHeaderNames.CONTENT_RANGE, range.contentRange(stored.length()));
                h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(range.length()));
            }
        } else if (stored.isComplete()) {
            h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(stored.length()));
        } else if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            if (http10) {
                // No length known yet, and HTTP/1.0 has no chunks: the end of the body is the close.
                keepAlive = false;
            } else {
                h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
        }
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
        CacheStatus.add(h, cacheStatus);
        route.responseHeaders().apply(h);
        status = code;
        clientCtx.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code), h),
                clientCtx.voidPromise());
        if (bodyless) {
            finishResponse();
            return;
        }
        if (multipart != null) {
            writeMultipart(multipart.head(0));
        }
        stream();
    }

    /**
     * A plain hit (the whole body, its stored status, keep-alive HTTP/1.1) with the head encoded
     * ahead ({@link HitHead}): a small body goes out in the same buffer as its head, a larger one
     * is streamed after it as any other.
     */
    private void serveEncoded(CachedResponse stored, HitHead encoded, long ageMillis, String cacheStatus) {
        HttpHeaders perHit = encoded.perHit(Math.max(0, ageMillis / 1000), log.requestId, cacheStatus);
        status = stored.status();
        long length = stored.length();
        boolean fromFile = client.sendsFiles() && stored.bodyFile() != null;
        if (length == 0 || stored.chunkCount() == 1 && length <= Http1ServerCodec.EMBED_MAX && !fromFile) {
            ByteBuf body = length == 0 ? Unpooled.EMPTY_BUFFER : stored.chunk(0).retainedDuplicate();
            bytes += length;
            finishResponse(encoded.full(status, body, perHit));
            return;
        }
        clientCtx.write(encoded.head(status, perHit), clientCtx.voidPromise());
        stream();
    }

    private void writeMultipart(byte[] framing) {
        bytes += framing.length;
        clientCtx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(framing)), clientCtx.voidPromise());
    }

    /**
     * The range being sent ended: starts the next part of a multipart answer (its delimiter and
     * head), or returns false when the body is done.
     */
    private boolean nextPart() {
        if (multipart == null || part + 1 == multipart.size()) {
            return false;
        }
        part++;
        ByteRange next = multipart.range(part);
        rangeFirst = next.first();
        rangeLast = next.last();
        writeMultipart(multipart.head(part));
        return true;
    }

    /** RFC 9110 section 15.4.5: a 304 carries the fields a 200 would have that describe its validity. */
    static void copy304Fields(HttpHeaders from, HttpHeaders to) {
        for (CharSequence name : new CharSequence[] {HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.CONTENT_LOCATION,
                HttpHeaderNames.DATE, HttpHeaderNames.ETAG, HttpHeaderNames.EXPIRES, HttpHeaderNames.VARY,
                HttpHeaderNames.LAST_MODIFIED}) {
            for (String v : from.getAll(name)) {
                to.add(name, v);
            }
        }
    }

    private void stream() {
        Channel ch = clientCtx.channel();
        CachedResponse o = object;
        if (index == 0 && position == 0 && multipart == null && sendFromFile(ch, o)) {
            return;
        }
        while (state == STREAMING) {
            if (index < o.chunkCount()) {
                if (!ch.isWritable()) {
                    paused = true;
                    clientCtx.flush();
                    return;
                }
                ByteBuf src = o.chunk(index);
                int n = src.readableBytes();
                long start = position;
                long end = start + n;
                if (end <= rangeFirst) {
                    index++;
                    position = end;
                    continue;
                }
                ByteBuf chunk = ByteRange.retainedPart(src, start, rangeFirst, rangeLast);
                bytes += chunk.readableBytes();
                clientCtx.write(new DefaultHttpContent(chunk), clientCtx.voidPromise());
                if (rangeLast < end) {
                    // The range ends in this chunk; the next part (ascending) may start in it too.
                    if (!nextPart()) {
                        finishResponse();
                        return;
                    }
                    continue;
                }
                index++;
                position = end;
                continue;
            }
            if (o.isComplete()) {
                finishResponse();
                return;
            }
            if (o.failed()) {
                // The fetch filling it broke off: the client sees a cut response, as from the origin.
                state = DONE;
                releaseObjects();
                end(status, "cache_fill_failed");
                clientCtx.flush();
                clientCtx.close();
                return;
            }
            if (o.awaitMore(index, ch.eventLoop(), this)) {
                clientCtx.flush();
                return;
            }
        }
    }

    /**
     * Sends the whole body, or the one range asked for, from the disk tier's open file of a
     * complete object (sendfile or splice: no copy out of memory), when the connection allows it.
     *
     * @return true when this took the response over (written, or paused until the connection drains)
     */
    private boolean sendFromFile(Channel ch, CachedResponse o) {
        CachedResponse.BodyFile file = o.isComplete() && client.sendsFiles() ? o.bodyFile() : null;
        if (file == null) {
            return false;
        }
        if (!ch.isWritable()) {
            paused = true;
            clientCtx.flush();
            return true;
        }
        long last = Math.min(rangeLast, o.length() - 1);
        long count = last - rangeFirst + 1;
        bytes += count;
        cache.cache().statsCounters().sentFromFile(count);
        clientCtx.write(new BodyFileRegion(o, file, rangeFirst, count), clientCtx.voidPromise());
        finishResponse();
        return true;
    }

    private void finishResponse() {
        finishResponse(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    /** Ends the response with {@code last}: the body's end, or a whole response. */
    private void finishResponse(LastHttpContent last) {
        state = DONE;
        if (multipart != null && status == 206) {
            writeMultipart(multipart.tail());
        }
        // Counted before the last write: once it is flushed the client may already look at the stats.
        cache.cache().statsCounters().served(bytes);
        ChannelFuture written = client.writeLast(clientCtx, last, clientKeepAlive);
        releaseObjects();
        end(status, null);
        client.exchangeDone(clientKeepAlive, written);
    }

    private void answerGatewayTimeout() {
        state = DONE;
        FullHttpResponse r = LocalResponses.error(clientCtx.alloc(), HttpResponseStatus.GATEWAY_TIMEOUT, log.requestId, head);
        boolean keepAlive = clientKeepAlive && client.connectionReusable();
        LocalResponses.markClose(r, keepAlive, http10);
        decorate(r);
        r.headers().set(CacheStatus.HEADER, "portico; detail=only-if-cached");
        bytes = r.content().readableBytes();
        ChannelFuture written = clientCtx.writeAndFlush(r);
        end(504, "only_if_cached");
        client.exchangeDone(keepAlive, written);
    }

    private void releaseObjects() {
        if (object != null) {
            object.release();
            object = null;
        }
        if (stale != null) {
            stale.release();
            stale = null;
        }
    }

    private void end(int finalStatus, String error) {
        client.context().lifecycle().requestEnded();
        finishLog(finalStatus, bytes, error);
    }
}
