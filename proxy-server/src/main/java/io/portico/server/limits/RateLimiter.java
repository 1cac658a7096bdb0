package io.portico.server.limits;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.portico.server.config.RateLimitConfig;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Token buckets per key (client address, a header's value, or one for the whole route), shared by
 * all event loops.
 *
 * <p>Each bucket is one {@link AtomicLong} holding its "theoretical arrival time" (the generic cell
 * rate algorithm, which is a token bucket kept as a single timestamp): a request moves it one
 * emission interval later with a compare-and-set, and is refused when that would put it more than
 * {@code burst} intervals ahead of now. No lock and no allocation once a key has its bucket.
 *
 * <p>Why shared rather than per event loop: per-loop buckets need no atomics, but a client's
 * connections land on different loops, so each loop would have to get rate/N (unfair when one
 * client uses one connection) or the full rate (N times too generous). nginx's {@code limit_req}
 * zone is shared by its workers for the same reason. The cost here is one CAS per limited request
 * on a cache line that only that key's requests touch.
 *
 * <p>Memory is bounded by {@code max_keys} (and a header value longer than
 * {@value #MAX_KEPT_VALUE} chars is kept as a 32-char digest): past it, buckets that have refilled (and so are no
 * different from new ones) are dropped, at most once a second; if the map is still full, keys
 * without a bucket share one overflow bucket, so a flood of new keys cannot grow memory or let
 * the flood through unlimited.
 */
public final class RateLimiter {

    private static final Object ROUTE_KEY = new Object();
    private static final String NO_HEADER = "";
    private static final long SWEEP_EVERY = 1_000_000_000L;
    /** Header values up to this many chars are keys as they are; longer ones by their digest. */
    static final int MAX_KEPT_VALUE = 64;
    private static final HexFormat HEX = HexFormat.of();

    private enum KeyKind { CLIENT_IP, HEADER, ROUTE }

    private final KeyKind kind;
    private final AsciiString header;
    private final long interval;
    private final long tolerance;
    private final int maxKeys;
    private final ConcurrentHashMap<Object, AtomicLong> buckets = new ConcurrentHashMap<>();
    private final AtomicLong overflow = new AtomicLong(Long.MIN_VALUE);
    private final AtomicBoolean sweeping = new AtomicBoolean();
    /** Keys the digests of long values, so nobody can aim two values at one bucket. */
    private final byte[] salt = newSalt();
    private volatile long lastSweep = System.nanoTime() - SWEEP_EVERY;

    private RateLimiter(RateLimitConfig config) {
        String key = config.key();
        this.kind = key.equals("client_ip") ? KeyKind.CLIENT_IP : key.equals("route") ? KeyKind.ROUTE : KeyKind.HEADER;
        this.header = kind == KeyKind.HEADER ? AsciiString.cached(key.substring("header:".length())) : null;
        this.interval = Math.max(1, (long) (1_000_000_000L / config.rate()));
        this.tolerance = interval * config.burst();
        this.maxKeys = config.maxKeys();
    }

    /** @return the limiter, or null when {@code config} is null (no limit) */
    public static RateLimiter of(RateLimitConfig config) {
        return config == null ? null : new RateLimiter(config);
    }

    /**
     * Takes a token for this request's key.
     *
     * @return 0 when the request may go on, else how many nanoseconds until it would be allowed
     */
    public long acquire(HttpHeaders headers, InetAddress client, long nowNanos) {
        Object key = switch (kind) {
            case CLIENT_IP -> client == null ? ROUTE_KEY : client;
            case HEADER -> {
                String v = headers.get(header);
                yield v == null ? NO_HEADER : v.length() <= MAX_KEPT_VALUE ? v : digest(v);
            }
            case ROUTE -> ROUTE_KEY;
        };
        return take(bucket(key, nowNanos), nowNanos);
    }

    /**
     * A long header value stands in the map as a keyed digest of it: {@code max_keys} bounds the
     * number of buckets, and a value may be as long as a header (32k by default), so 100,000 kept
     * values could have pinned gigabytes.
     */
    private String digest(String value) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(salt);
            byte[] d = sha.digest(value.getBytes(StandardCharsets.UTF_8));
            // A prefix no kept value can have: digests and short values never meet.
            return "\u0000" + HEX.formatHex(d, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] newSalt() {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        return salt;
    }

    private AtomicLong bucket(Object key, long now) {
        AtomicLong b = buckets.get(key);
        if (b != null) {
            return b;
        }
        if (buckets.size() >= maxKeys) {
            sweep(now);
            if (buckets.size() >= maxKeys) {
                return overflow;
            }
        }
        AtomicLong fresh = new AtomicLong(Long.MIN_VALUE);
        b = buckets.putIfAbsent(key, fresh);
        return b == null ? fresh : b;
    }

    private long take(AtomicLong bucket, long now) {
        while (true) {
            long tat = bucket.get();
            long base = tat == Long.MIN_VALUE || tat - now < 0 ? now : tat;
            long next = base + interval;
            long ahead = next - now;
            if (ahead > tolerance) {
                return ahead - tolerance;
            }
            if (bucket.compareAndSet(tat, next)) {
                return 0;
            }
        }
    }

    /** Drops buckets that have refilled completely; one thread at a time, at most once a second. */
    private void sweep(long now) {
        if (now - lastSweep < SWEEP_EVERY || !sweeping.compareAndSet(false, true)) {
            return;
        }
        try {
            lastSweep = now;
            Iterator<Map.Entry<Object, AtomicLong>> it = buckets.entrySet().iterator();
            while (it.hasNext()) {
                long tat = it.next().getValue().get();
                if (tat == Long.MIN_VALUE || tat - now <= 0) {
                    it.remove();
                }
            }
        } finally {
            sweeping.set(false);
        }
    }

    /** Buckets currently kept (for tests and metrics). */
    public int keys() {
        return buckets.size();
    }
}
