package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.portico.http.ForwardedHeaders;
import io.portico.http.cache.CachedResponse;
import io.portico.http.cache.Compression;
import io.portico.http.cache.StoredMeta;
import io.portico.server.cache.CacheStatus;
import io.portico.server.cache.RouteCache;
import io.portico.server.route.HeaderRules;
import io.portico.server.route.Route;

import java.io.ByteArrayOutputStream;
import java.util.Iterator;
import java.util.Map;

/**
 * The head of a plain hit on a stored object (its whole body, its own status, on a keep-alive
 * HTTP/1.1 connection), encoded once and kept with the object: every field but the three that
 * change from one hit to the next ({@code Age}, the request id, {@code Cache-Status}), which
 * {@link Http1ServerCodec} appends as fields. It holds the same fields, with the same values, as
 * the head {@link CacheExchange} builds field by field for any other answer from the store; only
 * the three come last. It is made for one stored meta, route and listener context (a
 * revalidation, a reload or another route makes a new one) and is immutable, so event loops
 * share it without a lock.
 */
final class HitHead {

    /** Kept when a route's header rules touch one of the three per-hit fields: such hits take the long way. */
    private static final byte[] UNUSABLE = new byte[0];

    private final StoredMeta meta;
    private final Route route;
    private final ListenerContext context;
    private final byte[] prefix;
    /** Whether the prefix holds an Alt-Svc field (then {@link AltSvcHandler} adds none). */
    private final boolean altSvc;
    /** A Cache-Status the stored fields had (a cache nearer the origin), or null. */
    private final String upstreamCacheStatus;

    private HitHead(StoredMeta meta, Route route, ListenerContext context, byte[] prefix, boolean altSvc,
                    String upstreamCacheStatus) {
        this.meta = meta;
        this.route = route;
        this.context = context;
        this.prefix = prefix;
        this.altSvc = altSvc;
        this.upstreamCacheStatus = upstreamCacheStatus;
    }

    /**
     * The encoded head for a plain hit on {@code stored} (complete, its status neither 204 nor
     * 304), made now or kept from an earlier hit; null when this route's hits cannot use one.
     */
    static HitHead of(CachedResponse stored, StoredMeta meta, Route route, RouteCache cache, ListenerContext context) {
        if (stored.servingHead() instanceof HitHead kept && kept.meta == meta && kept.route == route
                && kept.context == context) {
            return kept.prefix == UNUSABLE ? null : kept;
        }
        HitHead made = make(stored, meta, route, cache, context);
        stored.servingHead(made);
        return made.prefix == UNUSABLE ? null : made;
    }

    private static HitHead make(CachedResponse stored, StoredMeta meta, Route route, RouteCache cache,
                                ListenerContext context) {
        HeaderRules rules = route.responseHeaders();
        if (rules.touches(HttpHeaderNames.AGE) || rules.touches(context.requestIdHeader())
                || rules.touches(CacheStatus.HEADER)) {
            return new HitHead(meta, route, context, UNUSABLE, false, null);
        }
        // As CacheExchange.serve builds the head of a whole-body answer, in the same order.
        HttpHeaders h = new DefaultHttpHeaders(false);
        h.set(meta.headers());
        if (stored.status() == 200 && !h.contains(HttpHeaderNames.ACCEPT_RANGES)) {
            h.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
        }
        if (cache.variesOnEncoding(stored.status(), meta.headers())) {
            Compression.addVaryAcceptEncoding(h);
        }
        h.remove(HttpHeaderNames.AGE);
        h.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(stored.length()));
        if (context.forwarding().via()) {
            ForwardedHeaders.addVia(h, ProxyExchange.PSEUDONYM);
        }
        h.remove(context.requestIdHeader());
        String upstream = h.get(CacheStatus.HEADER);
        h.remove(CacheStatus.HEADER);
        rules.apply(h);
        if (h.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            // Never stored with a whole body; if it were, the long way decides what to do with it.
            return new HitHead(meta, route, context, UNUSABLE, false, null);
        }
        return new HitHead(meta, route, context, encode(h), h.contains(HttpHeaderNames.ALT_SVC),
                upstream == null || upstream.isBlank() ? null : upstream);
    }

    /** The fields as Netty's encoder writes them: name, ": ", value, CRLF, each char as one byte. */
    static byte[] encode(HttpHeaders h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            ascii(out, e.getKey());
            out.write(':');
            out.write(' ');
            ascii(out, e.getValue());
            out.write('\r');
            out.write('\n');
        }
        return out.toByteArray();
    }

    private static void ascii(ByteArrayOutputStream out, CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            // As Netty's encoder: a char past Latin-1 (a route rule's value may hold one) is '?'.
            out.write(AsciiString.c2b(s.charAt(i)));
        }
    }

    /** The fields of one hit that are not in the prefix. */
    HttpHeaders perHit(long ageSeconds, String requestId, String cacheStatus) {
        HttpHeaders extras = new DefaultHttpHeaders(false);
        extras.add(HttpHeaderNames.AGE, Long.toString(ageSeconds));
        extras.add(context.requestIdHeader(), requestId);
        extras.add(CacheStatus.HEADER, upstreamCacheStatus == null ? cacheStatus : upstreamCacheStatus + ", " + cacheStatus);
        return extras;
    }

    /** A hit's whole answer, head and body, for {@link Http1ServerCodec} to write as one buffer. */
    FullResponse full(int status, ByteBuf body, HttpHeaders perHit) {
        return new FullResponse(HttpResponseStatus.valueOf(status), body, perHit, prefix, altSvc);
    }

    /** A hit's head; its body follows as content, as after any other head. */
    Response head(int status, HttpHeaders perHit) {
        return new Response(HttpResponseStatus.valueOf(status), perHit, prefix, altSvc);
    }

    static final class Response extends DefaultHttpResponse implements Http1ServerCodec.PreEncoded {
        private final byte[] prefix;
        private final boolean altSvc;

        Response(HttpResponseStatus status, HttpHeaders perHit, byte[] prefix, boolean altSvc) {
            super(HttpVersion.HTTP_1_1, status, perHit);
            this.prefix = prefix;
            this.altSvc = altSvc;
        }

        @Override
        public byte[] prefix() {
            return prefix;
        }

        @Override
        public boolean altSvcInPrefix() {
            return altSvc;
        }
    }

    static final class FullResponse extends DefaultFullHttpResponse implements Http1ServerCodec.PreEncoded {
        private final byte[] prefix;
        private final boolean altSvc;

        FullResponse(HttpResponseStatus status, ByteBuf body, HttpHeaders perHit, byte[] prefix, boolean altSvc) {
            super(HttpVersion.HTTP_1_1, status, body, perHit, EmptyHttpHeaders.INSTANCE);
            this.prefix = prefix;
            this.altSvc = altSvc;
        }

        @Override
        public byte[] prefix() {
            return prefix;
        }

        @Override
        public boolean altSvcInPrefix() {
            return altSvc;
        }
    }
}
