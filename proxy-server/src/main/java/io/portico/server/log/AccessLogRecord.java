package io.portico.server.log;

/**
 * What the access log prints about one request. Filled on the event loop, passed to
 * {@link AccessLog#log}, and not touched again by the event loop afterwards: from then on the
 * writer thread owns it. A {@code null} text field prints as {@code -}.
 */
public final class AccessLogRecord {

    /** The client's IP address as text. */
    public String remoteAddr;
    /** When the request head arrived, in epoch milliseconds; printed as {@code $time_local}. */
    public long startEpochMillis;
    /** The request method, e.g. {@code GET}. */
    public String method;
    /** The request target as received, e.g. {@code /a?b}. */
    public String uri;
    /** The protocol version, e.g. {@code HTTP/1.1}. */
    public String protocol;
    /** The status sent to the client; 0 (no response) prints as {@code 000}. */
    public int status;
    /** Body bytes sent to the client. */
    public long bodyBytesSent;
    /** The {@code Referer} header. */
    public String referer;
    /** The {@code User-Agent} header. */
    public String userAgent;
    /** The {@code Host} header. */
    public String host;
    /** The upstream address; several tries joined as {@code a, b}. */
    public String upstreamAddr;
    /** Time until the upstream response was complete; negative when no upstream answered. */
    public long upstreamNanos = -1;
    /** Time the whole request took. */
    public long requestNanos;
    /** The request id propagated or generated. */
    public String requestId;
    /** The listener's name. */
    public String listener;
    /** The route's name. */
    public String route;
    /**
     * What the cache did, as nginx's {@code $upstream_cache_status}: {@code MISS}, {@code HIT},
     * {@code EXPIRED}, {@code STALE}, {@code UPDATING}, {@code REVALIDATED} or {@code BYPASS};
     * null (printed {@code -}) when the route has no cache.
     */
    public String cacheStatus;
    /** Why the request failed, e.g. {@code upstream_connect_refused}; printed only when set. For L4, how it ended. */
    public String error;
    /** A stream listener's connection or UDP session rather than an HTTP request: printed in the L4 format. */
    public boolean layer4;
    /** L4: bytes received from the client ({@link #bodyBytesSent} holds the bytes sent to it). */
    public long bytesReceived;
    /** L4: relayed with splice(2). */
    public boolean spliced;
}
