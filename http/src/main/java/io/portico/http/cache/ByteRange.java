package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * A single byte range of a stored response (RFC 9110 section 14): {@code Range: bytes=a-b},
 * {@code bytes=a-} or {@code bytes=-n}, checked against {@code If-Range}. Anything else — other
 * units, several ranges, malformed syntax — is ignored and the whole response is sent, as the RFC
 * allows.
 *
 * @param first first byte, inclusive
 * @param last  last byte, inclusive
 */
public record ByteRange(long first, long last) {

    /** The range could not be satisfied: answer 416 with {@code Content-Range: bytes *}{@code /length}. */
    public static final ByteRange UNSATISFIABLE = new ByteRange(-1, -1);

    /** Bytes in the range. */
    public long length() {
        return last - first + 1;
    }

    /** The {@code Content-Range} value for a 206 of a representation of {@code total} bytes. */
    public String contentRange(long total) {
        return "bytes " + first + "-" + last + "/" + total;
    }

    /**
     * The range a GET asks of a stored response of {@code length} bytes, {@link #UNSATISFIABLE},
     * or null to send it whole (no Range, an If-Range that does not match, or a Range this cache
     * does not serve).
     */
    public static ByteRange of(HttpHeaders request, HttpHeaders stored, long length) {
        String range = request.get(HttpHeaderNames.RANGE);
        if (range == null) {
            return null;
        }
        String ifRange = request.get(HttpHeaderNames.IF_RANGE);
        if (ifRange != null && !ifRangeMatches(ifRange.trim(), stored)) {
            return null;
        }
        return parse(range, length);
    }

    /** More ranges than this in one request are not worth their part headers: the whole response goes. */
    public static final int MAX_RANGES = 32;

    /**
     * All the ranges a GET asks of a stored response of {@code length} bytes (RFC 9110 section
     * 14.1.1, several ranges included): null to send it whole (no Range, an If-Range that does not
     * match, malformed syntax, other units, more than {@link #MAX_RANGES} ranges, or ranges that
     * overlap or are not in ascending order, which section 14.2 lets a server ignore); a list of
     * just {@link #UNSATISFIABLE} for a 416; else the satisfiable ranges, ascending and disjoint
     * (unsatisfiable ones left out).
     */
    public static java.util.List<ByteRange> all(HttpHeaders request, HttpHeaders stored, long length) {
        String range = request.get(HttpHeaderNames.RANGE);
        if (range == null) {
            return null;
        }
        String ifRange = request.get(HttpHeaderNames.IF_RANGE);
        if (ifRange != null && !ifRangeMatches(ifRange.trim(), stored)) {
            return null;
        }
        String r = range.trim();
        if (!r.regionMatches(true, 0, "bytes=", 0, 6)) {
            return null;
        }
        String[] specs = r.substring(6).split(",", MAX_RANGES + 2);
        if (specs.length > MAX_RANGES) {
            return null;
        }
        java.util.List<ByteRange> ranges = new java.util.ArrayList<>(specs.length);
        for (String spec : specs) {
            if (spec.isBlank()) {
                // RFC 9110 section 5.6.1: empty list elements are ignored.
                continue;
            }
            ByteRange one = parse("bytes=" + spec.trim(), length);
            if (one == null) {
                return null;
            }
            if (one == UNSATISFIABLE) {
                continue;
            }
            if (!ranges.isEmpty() && one.first() <= ranges.get(ranges.size() - 1).last()) {
                return null;
            }
            ranges.add(one);
        }
        return ranges.isEmpty() ? java.util.List.of(UNSATISFIABLE) : ranges;
    }

    /**
     * The first byte a single {@code bytes=first-[last]} range asks for, known before the length
     * is; -1 for any other form (a suffix, several ranges, other units, malformed).
     */
    public static long firstOffset(String range) {
        String r = range.trim();
        if (!r.regionMatches(true, 0, "bytes=", 0, 6) || r.substring(6).trim().startsWith("-")) {
            return -1;
        }
        ByteRange one = parse(r, Long.MAX_VALUE);
        return one == null || one == UNSATISFIABLE ? -1 : one.first();
    }

    /**
     * The part of a body chunk that lies in {@code first..last}, retained for the caller.
     * {@code chunkStart} is the body offset of the chunk's first readable byte; the chunk must
     * overlap the range.
     */
    public static ByteBuf retainedPart(ByteBuf chunk, long chunkStart, long first, long last) {
        int n = chunk.readableBytes();
        int from = (int) Math.max(0, first - chunkStart);
        int to = last - chunkStart >= n ? n : (int) (last - chunkStart + 1);
        return from == 0 && to == n ? chunk.retainedDuplicate() : chunk.retainedSlice(chunk.readerIndex() + from, to - from);
    }

    /**
     * Section 13.1.5: a strong ETag match, or a date equal to the stored Last-Modified when that is
     * strong (a weak one may name two versions written within the same second).
     */
    static boolean ifRangeMatches(String ifRange, HttpHeaders stored) {
        if (ifRange.startsWith("\"") || ifRange.startsWith("W/")) {
            String etag = stored.get(HttpHeaderNames.ETAG);
            // Weak tags never match here: If-Range uses the strong comparison.
            return etag != null && !ifRange.startsWith("W/") && !etag.startsWith("W/") && etag.trim().equals(ifRange);
        }
        long date = HttpDates.parse(ifRange);
        return date != HttpDates.INVALID && date == HttpDates.strongLastModified(stored);
    }

    static ByteRange parse(String range, long length) {
        String r = range.trim();
        if (!r.regionMatches(true, 0, "bytes=", 0, 6)) {
            return null;
        }
        String spec = r.substring(6).trim();
        if (spec.indexOf(',') >= 0) {
            return null;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        String a = spec.substring(0, dash).trim();
        String b = spec.substring(dash + 1).trim();
        long first = a.isEmpty() ? -1 : digits(a);
        long last = b.isEmpty() ? -1 : digits(b);
        if ((a.isEmpty() && b.isEmpty()) || (!a.isEmpty() && first < 0) || (!b.isEmpty() && last < 0)) {
            return null;
        }
        if (a.isEmpty()) {
            // Suffix: the last n bytes.
            if (last == 0 || length == 0) {
                return UNSATISFIABLE;
            }
            return new ByteRange(Math.max(0, length - last), length - 1);
        }
        if (!b.isEmpty() && last < first) {
            return null;
        }
        if (first >= length) {
            return UNSATISFIABLE;
        }
        return new ByteRange(first, b.isEmpty() ? length - 1 : Math.min(last, length - 1));
    }

    private static long digits(String s) {
        if (s.length() > 18) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
