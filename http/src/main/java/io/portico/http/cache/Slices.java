package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * The arithmetic of caching a large object in fixed-size slices (as nginx's {@code slice} module):
 * slice {@code k} of a route with slice size {@code s} is the byte range {@code k*s .. (k+1)*s-1}
 * of the representation, fetched from the origin with {@code Range} and stored under its own key.
 * Slices of one object must agree on its total length and validators; {@link #sameRepresentation}
 * tells whether two slices' header fields describe the same object, so that a body is never
 * spliced from two versions.
 */
public final class Slices {

    private Slices() {
    }

    /**
     * A {@code Content-Range} of a 206 (RFC 9110 section 14.4): bytes {@code first..last}
     * (inclusive) of a representation of {@code total} bytes.
     */
    public record ContentRange(long first, long last, long total) {
        /** Bytes in the range. */
        public long length() {
            return last - first + 1;
        }
    }

    /** The cache key of slice {@code index} of the object stored under {@code baseKey}. */
    public static String key(String baseKey, long index) {
        return keyPrefix(baseKey) + index;
    }

    /** What every slice key of {@code baseKey} starts with. */
    public static String keyPrefix(String baseKey) {
        // A space cannot occur in a request target, so no URL collides with a slice key.
        return baseKey + " slice=";
    }

    /** The slice holding byte {@code offset}. */
    public static long sliceOf(long offset, long sliceSize) {
        return offset / sliceSize;
    }

    /** The first byte of slice {@code index}. */
    public static long start(long index, long sliceSize) {
        return index * sliceSize;
    }

    /** The {@code Range} request field value that asks for slice {@code index}. */
    public static String rangeHeader(long index, long sliceSize) {
        long first = index * sliceSize;
        return "bytes=" + first + "-" + (first + sliceSize - 1);
    }

    /** The index of the last slice of a representation of {@code total} bytes (total above 0). */
    public static long lastSlice(long total, long sliceSize) {
        return (total - 1) / sliceSize;
    }

    /**
     * Whether {@code range} is exactly what the origin owes for slice {@code index}: from the
     * slice's first byte to its last, or to the end of the representation when that comes first.
     */
    public static boolean answers(ContentRange range, long index, long sliceSize) {
        if (range == null) {
            return false;
        }
        long first = index * sliceSize;
        long last = Math.min(first + sliceSize, range.total()) - 1;
        return range.first() == first && range.last() == last;
    }

    /** The {@code Content-Range} of a stored or received slice, or null when absent or malformed. */
    public static ContentRange contentRange(HttpHeaders headers) {
        return parseContentRange(headers.get(HttpHeaderNames.CONTENT_RANGE));
    }

    /**
     * Parses {@code bytes first-last/total}; null for anything else (other units, an unknown
     * total {@code *}, a range that is empty or reaches past the total).
     */
    public static ContentRange parseContentRange(String value) {
        if (value == null) {
            return null;
        }
        String v = value.trim();
        if (!v.regionMatches(true, 0, "bytes ", 0, 6)) {
            return null;
        }
        int dash = v.indexOf('-', 6);
        int slash = v.indexOf('/', 6);
        if (dash < 0 || slash < dash) {
            return null;
        }
        long first = digits(v, 6, dash);
        long last = digits(v, dash + 1, slash);
        long total = digits(v, slash + 1, v.length());
        if (first < 0 || last < first || total <= last) {
            return null;
        }
        return new ContentRange(first, last, total);
    }

    /**
     * Whether two slices' fields describe the same representation: the same total length, and the
     * same strong {@code ETag} when either has one, else the same {@code Last-Modified} when
     * either has one, strong in both (each slice's {@code Date} a second or more after it: two
     * versions written within one second share their Last-Modified). Without validators only the
     * length can be compared, as nginx does.
     */
    public static boolean sameRepresentation(HttpHeaders a, HttpHeaders b) {
        ContentRange ra = contentRange(a);
        ContentRange rb = contentRange(b);
        if (ra == null || rb == null || ra.total() != rb.total()) {
            return false;
        }
        String etagA = a.get(HttpHeaderNames.ETAG);
        String etagB = b.get(HttpHeaderNames.ETAG);
        if (etagA != null || etagB != null) {
            // A weak tag does not promise identical bytes (RFC 9110 section 8.8.3): it cannot vouch for a splice.
            return etagA != null && etagB != null && !etagA.startsWith("W/") && etagA.trim().equals(etagB.trim());
        }
        String lmA = a.get(HttpHeaderNames.LAST_MODIFIED);
        String lmB = b.get(HttpHeaderNames.LAST_MODIFIED);
        if (lmA != null || lmB != null) {
            long strongA = HttpDates.strongLastModified(a);
            return strongA != HttpDates.INVALID && strongA == HttpDates.strongLastModified(b);
        }
        return true;
    }

    private static long digits(String s, int from, int to) {
        if (to <= from || to - from > 18) {
            return -1;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
