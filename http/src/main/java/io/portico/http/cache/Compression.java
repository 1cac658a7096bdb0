package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * gzip for stored responses the origin sent uncompressed: a compressible response is compressed
 * once, off the event loops, into a second stored object next to it (key {@code KEY + "\0gzip"}),
 * which then answers every client that accepts gzip; the response varies on
 * {@code Accept-Encoding} either way. While the compressed copy is being made, clients get the
 * identity response — never a wait.
 */
public final class Compression implements AutoCloseable {

    /** Types compressed when a route lists none. */
    public static final Set<String> DEFAULT_TYPES = Set.of("text/html", "text/plain", "text/css", "text/xml",
            "text/javascript", "application/javascript", "application/json", "application/xml",
            "application/xhtml+xml", "image/svg+xml");

    private static final String SUFFIX = "\u0000gzip";

    private final HttpCache cache;
    private final ByteBufAllocator alloc;
    private final ThreadPoolExecutor worker;
    private final Set<String> inProgress = ConcurrentHashMap.newKeySet();

    Compression(HttpCache cache, ByteBufAllocator alloc) {
        this.cache = cache;
        this.alloc = alloc;
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256), r -> {
            Thread t = new Thread(r, "portico-cache-gzip");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Whether {@code stored} is worth compressing: a complete 200 of a compressible kind
     * ({@link #compressibleKind}) of at least {@code minSize} bytes.
     */
    public static boolean compressible(CachedResponse stored, Set<String> types, long minSize) {
        return stored.isComplete() && stored.length() >= minSize
                && compressibleKind(stored.status(), stored.meta().headers(), types);
    }

    /** A 200 of one of {@code types}, without Content-Encoding or no-transform: its body may be gzipped. */
    public static boolean compressibleKind(int status, HttpHeaders h, Set<String> types) {
        if (status != 200 || h.contains(HttpHeaderNames.CONTENT_ENCODING) || CacheControl.of(h).noTransform()) {
            return false;
        }
        String type = h.get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null) {
            return false;
        }
        int semi = type.indexOf(';');
        return types.contains((semi < 0 ? type : type.substring(0, semi)).trim().toLowerCase(Locale.ROOT));
    }

    /** Whether an {@code Accept-Encoding} field accepts gzip (q above 0, named or through {@code *}). */
    public static boolean acceptsGzip(HttpHeaders request) {
        List<String> all = request.getAll(HttpHeaderNames.ACCEPT_ENCODING);
        boolean star = false;
        for (String line : all) {
            for (String part : line.split(",")) {
                String[] params = part.split(";");
                String coding = params[0].trim().toLowerCase(Locale.ROOT);
                boolean zero = false;
                for (int i = 1; i < params.length; i++) {
                    String p = params[i].trim().toLowerCase(Locale.ROOT);
                    if (p.startsWith("q=")) {
                        zero = p.substring(2).trim().matches("0(\\.0{0,3})?");
                    }
                }
                if (coding.equals("gzip") || coding.equals("x-gzip")) {
                    return !zero;
                }
                if (coding.equals("*")) {
                    star = !zero;
                }
            }
        }
        return star;
    }

    /**
     * The compressed copy of {@code source}, retained for the caller, when one exists for this very
     * response; otherwise null, and one is made in the background.
     */
    public CachedResponse gzipOf(CachedResponse source) {
        String key = source.key() + SUFFIX;
        CachedResponse gz = cache.getExact(key);
        if (gz != null) {
            if (gz.meta().responseTime() == source.meta().responseTime()) {
                return gz;
            }
            // The source was refreshed or replaced: this copy describes an older response.
            gz.release();
        }
        if (inProgress.add(key)) {
            source.retain();
            try {
                worker.execute(() -> {
                    try {
                        compress(source, key);
                    } finally {
                        inProgress.remove(key);
                        source.release();
                    }
                });
            } catch (RejectedExecutionException busy) {
                inProgress.remove(key);
                source.release();
            }
        }
        return null;
    }

    private void compress(CachedResponse source, String key) {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(source.length() / 3 + 64, Integer.MAX_VALUE));
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 8192) {
            {
                def.setLevel(Deflater.DEFAULT_COMPRESSION);
            }
        }) {
            byte[] buf = new byte[8192];
            for (int i = 0; i < source.chunkCount(); i++) {
                ByteBuf c = source.chunk(i);
                int n = c.readableBytes();
                for (int off = 0; off < n; off += buf.length) {
                    int len = Math.min(buf.length, n - off);
                    c.getBytes(c.readerIndex() + off, buf, 0, len);
                    gz.write(buf, 0, len);
                }
            }
        } catch (IOException impossible) {
            return;
        }
        byte[] bytes = out.toByteArray();
        if (bytes.length >= source.length()) {
            return;
        }
        StoredMeta m = source.meta();
        HttpHeaders h = new DefaultHttpHeaders(false);
        h.set(m.headers());
        h.set(HttpHeaderNames.CONTENT_ENCODING, "gzip");
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        addVaryAcceptEncoding(h);
        String etag = h.get(HttpHeaderNames.ETAG);
        if (etag != null && !etag.startsWith("W/")) {
            // Another representation: no longer byte-identical to the strong tag's (as nginx does).
            h.set(HttpHeaderNames.ETAG, "W/" + etag);
        }
        StoredMeta meta = new StoredMeta(h, m.requestTime(), m.responseTime(), m.correctedInitialAge(), m.lifetime(),
                m.noCache(), m.noStaleServing(), m.staleWhileRevalidate(), m.staleIfError());
        CachedResponse gz = new CachedResponse(key, source.baseKey(), source.url(), source.tags(), 200,
                source.varyNames(), source.selecting(), meta, alloc, bytes.length + 1L);
        ByteBuf b = io.netty.buffer.Unpooled.wrappedBuffer(bytes);
        gz.append(b);
        b.release();
        gz.complete();
        cache.storeDerived(gz);
        gz.release();
    }

    /** Adds {@code Accept-Encoding} to {@code Vary} unless it is there. */
    public static void addVaryAcceptEncoding(HttpHeaders h) {
        for (String v : h.getAll(HttpHeaderNames.VARY)) {
            for (String part : v.split(",")) {
                String p = part.trim();
                if (p.equalsIgnoreCase("accept-encoding") || p.equals("*")) {
                    return;
                }
            }
        }
        h.add(HttpHeaderNames.VARY, "Accept-Encoding");
    }

    /** Stops taking work and waits briefly for the copy being made, so nothing is stored after the cache closed. */
    @Override
    public void close() {
        worker.shutdown();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
