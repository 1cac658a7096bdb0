package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The directives of the {@code Cache-Control} fields of one message (RFC 9111 section 5.2),
 * request and response directives together; each side reads the ones that apply to it.
 *
 * <p>Parsing is lenient where leniency is safe and strict where it is not: directive names are
 * case-insensitive, values may be tokens or quoted strings ({@code max-age="60"}), several field
 * lines and several directives per line combine. A delta-seconds value that is not a number, or a
 * directive given twice with different values, makes the response stale (section 4.2.1 allows
 * that, and a shared cache must not guess longer lifetimes); values past 2^31 are capped at 2^31
 * (section 1.2.2). Unknown directives are ignored.
 */
public final class CacheControl {

    /** No value: the directive is absent. */
    public static final long ABSENT = -1;
    /** {@code max-stale} without a value: any staleness is acceptable. */
    public static final long ANY = Long.MAX_VALUE;
    /** RFC 9111 section 1.2.2: delta-seconds too large to hold are sent and read as 2^31. */
    static final long DELTA_MAX = 2147483648L;

    /** All directives absent. */
    public static final CacheControl NONE = new CacheControl();

    long maxAge = ABSENT;
    long sMaxAge = ABSENT;
    long maxStale = ABSENT;
    long minFresh = ABSENT;
    long staleWhileRevalidate = ABSENT;
    long staleIfError = ABSENT;
    boolean noStore;
    boolean noCache;
    List<String> noCacheFields = List.of();
    boolean isPrivate;
    List<String> privateFields = List.of();
    boolean isPublic;
    boolean mustRevalidate;
    boolean proxyRevalidate;
    boolean mustUnderstand;
    boolean immutable;
    boolean onlyIfCached;
    boolean noTransform;
    /** A lifetime directive was malformed or contradicted itself: the response is stale. */
    boolean invalidLifetime;

    private CacheControl() {
    }

    /** The directives of every {@code Cache-Control} line of {@code headers}. */
    public static CacheControl of(HttpHeaders headers) {
        List<String> lines = headers.getAll(HttpHeaderNames.CACHE_CONTROL);
        if (lines.isEmpty()) {
            return NONE;
        }
        CacheControl cc = new CacheControl();
        for (String line : lines) {
            cc.parseLine(line);
        }
        return cc;
    }

    /** The directives of one field value (tests, and single values). */
    public static CacheControl parse(String value) {
        CacheControl cc = new CacheControl();
        if (value != null) {
            cc.parseLine(value);
        }
        return cc;
    }

    private void parseLine(String s) {
        int i = 0;
        int n = s.length();
        while (i < n) {
            // skip separators and whitespace
            char c = s.charAt(i);
            if (c == ',' || c == ' ' || c == '\t') {
                i++;
                continue;
            }
            int nameStart = i;
            while (i < n && s.charAt(i) != '=' && s.charAt(i) != ',') {
                i++;
            }
            String name = s.substring(nameStart, i).trim().toLowerCase(Locale.ROOT);
            String value = null;
            if (i < n && s.charAt(i) == '=') {
                i++;
                while (i < n && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
                    i++;
                }
                if (i < n && s.charAt(i) == '"') {
                    StringBuilder v = new StringBuilder();
                    i++;
                    while (i < n && s.charAt(i) != '"') {
                        if (s.charAt(i) == '\\' && i + 1 < n) {
                            i++;
                        }
                        v.append(s.charAt(i));
                        i++;
                    }
                    i++; // closing quote (or end)
                    value = v.toString();
                    while (i < n && s.charAt(i) != ',') {
                        i++;
                    }
                } else {
                    int valueStart = i;
                    while (i < n && s.charAt(i) != ',') {
                        i++;
                    }
                    value = s.substring(valueStart, i).trim();
                }
            }
            apply(name, value);
        }
    }

    private void apply(String name, String value) {
        switch (name) {
            case "max-age" -> maxAge = lifetime(maxAge, value);
            case "s-maxage" -> sMaxAge = lifetime(sMaxAge, value);
            case "stale-while-revalidate" -> staleWhileRevalidate = extension(staleWhileRevalidate, value);
            case "stale-if-error" -> staleIfError = extension(staleIfError, value);
            case "min-fresh" -> minFresh = extension(minFresh, value);
            case "max-stale" -> {
                if (value == null || value.isEmpty()) {
                    maxStale = ANY;
                } else {
                    long v = delta(value);
                    // A garbled max-stale must not widen what the client accepts: read it as 0.
                    maxStale = v < 0 ? 0 : maxStale == ABSENT ? v : Math.min(maxStale, v);
                }
            }
            case "no-store" -> noStore = true;
            case "no-cache" -> {
                if (value == null) {
                    noCache = true;
                } else {
                    List<String> fields = fieldNames(value);
                    if (fields.isEmpty()) {
                        noCache = true;
                    } else {
                        noCacheFields = concat(noCacheFields, fields);
                    }
                }
            }
            case "private" -> {
                if (value == null) {
                    isPrivate = true;
                } else {
                    List<String> fields = fieldNames(value);
                    if (fields.isEmpty()) {
                        isPrivate = true;
                    } else {
                        privateFields = concat(privateFields, fields);
                    }
                }
            }
            case "public" -> isPublic = true;
            case "must-revalidate" -> mustRevalidate = true;
            case "proxy-revalidate" -> proxyRevalidate = true;
            case "must-understand" -> mustUnderstand = true;
            case "immutable" -> immutable = true;
            case "only-if-cached" -> onlyIfCached = true;
            case "no-transform" -> noTransform = true;
            default -> {
                // extensions a cache does not understand are ignored (section 5.2.3)
            }
        }
    }

    /** max-age / s-maxage: malformed or contradictory values make the response stale. */
    private long lifetime(long previous, String value) {
        long v = value == null ? -1 : delta(value);
        if (v < 0 || (previous != ABSENT && previous != v)) {
            invalidLifetime = true;
            return 0;
        }
        return v;
    }

    /** Windows that only ever widen what a cache may do: malformed means absent, duplicates take the smaller. */
    private static long extension(long previous, String value) {
        long v = value == null ? -1 : delta(value);
        if (v < 0) {
            return previous;
        }
        return previous == ABSENT ? v : Math.min(previous, v);
    }

    /** delta-seconds: digits only; -1 when malformed; capped at 2^31. */
    static long delta(String value) {
        if (value.isEmpty()) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            if (v < DELTA_MAX) {
                v = v * 10 + (c - '0');
            }
        }
        return Math.min(v, DELTA_MAX);
    }

    private static List<String> fieldNames(String value) {
        List<String> out = new ArrayList<>();
        for (String part : value.split(",")) {
            String f = part.trim().toLowerCase(Locale.ROOT);
            if (!f.isEmpty()) {
                out.add(f);
            }
        }
        return out;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        if (a.isEmpty()) {
            return Collections.unmodifiableList(b);
        }
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return Collections.unmodifiableList(out);
    }

    public long maxAge() {
        return maxAge;
    }

    public long sMaxAge() {
        return sMaxAge;
    }

    /** Request: staleness the client accepts; {@link #ANY} without a value; {@link #ABSENT}. */
    public long maxStale() {
        return maxStale;
    }

    public long minFresh() {
        return minFresh;
    }

    public long staleWhileRevalidate() {
        return staleWhileRevalidate;
    }

    public long staleIfError() {
        return staleIfError;
    }

    public boolean noStore() {
        return noStore;
    }

    /** Unqualified {@code no-cache}: every use needs validation. */
    public boolean noCache() {
        return noCache;
    }

    /** {@code no-cache="a, b"}: lower-case field names that may not be reused unvalidated. */
    public List<String> noCacheFields() {
        return noCacheFields;
    }

    /** Unqualified {@code private}. */
    public boolean isPrivate() {
        return isPrivate;
    }

    /** {@code private="a, b"}: lower-case field names a shared cache must not store. */
    public List<String> privateFields() {
        return privateFields;
    }

    public boolean isPublic() {
        return isPublic;
    }

    public boolean mustRevalidate() {
        return mustRevalidate;
    }

    public boolean proxyRevalidate() {
        return proxyRevalidate;
    }

    public boolean mustUnderstand() {
        return mustUnderstand;
    }

    public boolean immutable() {
        return immutable;
    }

    public boolean onlyIfCached() {
        return onlyIfCached;
    }

    public boolean noTransform() {
        return noTransform;
    }

    /** A malformed or self-contradicting max-age/s-maxage: treat the response as stale. */
    public boolean invalidLifetime() {
        return invalidLifetime;
    }
}
