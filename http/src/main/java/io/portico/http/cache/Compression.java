package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
 * Brotli and gzip for stored responses the origin sent uncompressed: a compressible response is
 * compressed once per coding, off the event loops, into a stored object next to it (key
 * {@code KEY + "\0br"} or {@code "\0gzip"}), which then answers every client that prefers that
 * coding; the response varies on {@code Accept-Encoding} either way. While a compressed copy is
 * being made, clients get the identity response — never a wait. Brotli needs brotli4j's native
 * library; where it does not load, clients that accept gzip get gzip.
 */
public final class Compression implements AutoCloseable {

    /** Types compressed when a route lists none. */
    public static final Set<String> DEFAULT_TYPES = Set.of("text/html", "text/plain", "text/css", "text/xml",
            "text/javascript", "application/javascript", "application/json", "application/xml",
            "application/xhtml+xml", "image/svg+xml");

    /** A content coding this cache produces. */
    public enum Coding {
        BR("br"), GZIP("gzip");

        private final String token;

        Coding(String token) {
            this.token = token;
        }

        /** The Content-Encoding token. */
        public String token() {
            return token;
        }
    }

    private static final boolean BROTLI = loadBrotli();

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

    private static boolean loadBrotli() {
        try {
            com.aayushatharva.brotli4j.Brotli4jLoader.ensureAvailability();
            return true;
        } catch (Throwable unavailable) {
            System.getLogger("portico").log(System.Logger.Level.INFO,
                    "brotli unavailable (" + unavailable + "): compressed copies are gzip only");
            return false;
        }
    }

    /** Whether brotli's native library loaded here. */
    public static boolean brotliAvailable() {
        return BROTLI;
    }

    /**
     * The coding to answer a request with: the accepted one with the higher quality, brotli on a
     * tie (smaller), or null for identity.
     */
    public static Coding choose(HttpHeaders request) {
        double br = quality(request, "br");
        double gzip = quality(request, "gzip");
        if (BROTLI && br > 0 && br >= gzip) {
            return Coding.BR;
        }
        return gzip > 0 ? Coding.GZIP : null;
    }

    /** The q-value {@code Accept-Encoding} gives {@code coding} (0 when not accepted; {@code *} counts). */
    static double quality(HttpHeaders request, String coding) {
        double named = -1;
        double star = -1;
        for (String line : request.getAll(HttpHeaderNames.ACCEPT_ENCODING)) {
            for (String part : line.split(",")) {
                String[] params = part.split(";");
                String c = params[0].trim().toLowerCase(Locale.ROOT);
                double q = 1;
                for (int i = 1; i < params.length; i++) {
                    String p = params[i].trim().toLowerCase(Locale.ROOT);
                    if (p.startsWith("q=")) {
                        try {
                            q = Double.parseDouble(p.substring(2).trim());
                        } catch (NumberFormatException bad) {
                            q = 0;
                        }
                    }
                }
                if (c.equals(coding) || (coding.equals("gzip") && c.equals("x-gzip"))) {
                    named = Math.max(named, q);
                } else if (c.equals("*")) {
                    star = Math.max(star, q);
                }
            }
        }
        return named >= 0 ? named : Math.max(star, 0);
    }

    /** Whether an {@code Accept-Encoding} field accepts gzip (q above 0, named or through {@code *}). */
    public static boolean acceptsGzip(HttpHeaders request) {
        return quality(request, "gzip") > 0;
    }

    /**
     * The copy of {@code source} in {@code coding}, retained for the caller, when one exists for
     * this very response; otherwise null, and one is made in the background.
     */
    public CachedResponse compressedOf(CachedResponse source, Coding coding, io.netty.util.concurrent.EventExecutor loop) {
        String key = source.key() + "\u0000" + coding.token();
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
                        compress(source, key, coding, loop);
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

    private void compress(CachedResponse source, String key, Coding coding, io.netty.util.concurrent.EventExecutor loop) {
        byte[] bytes = coding == Coding.BR ? brotli(source) : gzip(source);
        if (bytes == null || bytes.length >= source.length()) {
            return;
        }
        // Off-heap buffers are taken and stored on the event loop: the compressing thread only
        // computes bytes and never holds pooled memory of its own.
        source.retain();
        try {
            loop.execute(() -> {
                try {
                    store(source, key, coding, bytes);
                } finally {
                    source.release();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
            source.release();
        }
    }

    private static byte[] brotli(CachedResponse source) {
        byte[] plain = new byte[(int) source.length()];
        int off = 0;
        for (int i = 0; i < source.chunkCount(); i++) {
            ByteBuf c = source.chunk(i);
            int n = c.readableBytes();
            c.getBytes(c.readerIndex(), plain, off, n);
            off += n;
        }
        try {
            // Quality 5: most of brotli's gain over gzip at a fraction of the CPU of its top levels.
            return com.aayushatharva.brotli4j.encoder.Encoder.compress(plain,
                    new com.aayushatharva.brotli4j.encoder.Encoder.Parameters().setQuality(5));
        } catch (IOException failed) {
            return null;
        }
    }

    private static byte[] gzip(CachedResponse source) {
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
            return null;
        }
        return out.toByteArray();
    }

    private void store(CachedResponse source, String key, Coding coding, byte[] bytes) {
        StoredMeta m = source.meta();
        HttpHeaders h = new DefaultHttpHeaders(false);
        h.set(m.headers());
        h.set(HttpHeaderNames.CONTENT_ENCODING, coding.token());
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
