package io.portico.server.cache;

import io.netty.util.AsciiString;

/** The {@code Cache-Status} response header (RFC 9211), with Portico as the cache's name. */
public final class CacheStatus {

    public static final AsciiString HEADER = AsciiString.cached("cache-status");
    private static final String NAME = "portico";

    private CacheStatus() {
    }

    /**
     * Adds this cache's entry to the response's list: after the entries of caches closer to the
     * origin (RFC 9211 section 2), so an upstream CDN's entry stays in front.
     */
    public static void add(io.netty.handler.codec.http.HttpHeaders headers, String value) {
        String upstream = headers.get(HEADER);
        headers.set(HEADER, upstream == null || upstream.isBlank() ? value : upstream + ", " + value);
    }

    /** Served from the cache; {@code ttl} seconds left (negative when stale). */
    public static String hit(long ttlMillis, String detail) {
        String s = NAME + "; hit; ttl=" + Math.floorDiv(ttlMillis, 1000);
        return detail == null ? s : s + "; detail=" + detail;
    }

    /**
     * Forwarded to the origin.
     *
     * @param fwd       RFC 9211 reason: bypass, method, uri-miss, vary-miss, miss, request, stale
     * @param fwdStatus the origin's status, or 0 to leave it out
     * @param stored    whether the response was stored
     * @param collapsed whether this request rode on another's fetch
     * @param detail    a short word, or null
     */
    public static String forward(String fwd, int fwdStatus, boolean stored, boolean collapsed, String detail) {
        StringBuilder sb = new StringBuilder(64).append(NAME).append("; fwd=").append(fwd);
        if (fwdStatus > 0) {
            sb.append("; fwd-status=").append(fwdStatus);
        }
        if (stored) {
            sb.append("; stored");
        }
        if (collapsed) {
            sb.append("; collapsed");
        }
        if (detail != null) {
            sb.append("; detail=").append(detail);
        }
        return sb.toString();
    }
}
