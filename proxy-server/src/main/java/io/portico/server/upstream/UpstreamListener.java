package io.portico.server.upstream;

import io.netty.handler.codec.http.HttpObject;

/**
 * The exchange that currently owns an upstream connection. Every call comes on the connection's
 * event loop, which is also the client's.
 */
public interface UpstreamListener {

    /** A response head or body part; the listener owns {@code msg} and must release it. */
    void onUpstreamMessage(UpstreamConnection connection, HttpObject msg);

    /** The end of one read burst: the time to flush what was written to the client. */
    void onUpstreamReadComplete(UpstreamConnection connection);

    /** The upstream socket became writable or unwritable. */
    void onUpstreamWritabilityChanged(UpstreamConnection connection);

    /** The upstream connection closed while this listener owned it. */
    void onUpstreamClosed(UpstreamConnection connection);

    /**
     * The connection's watchdog fired: check the exchange's deadlines now.
     *
     * @return the next deadline ({@link System#nanoTime()} based) to check again at, or 0 for none
     */
    long onDeadlineCheck(long nowNanos);

    /** An exception on the upstream connection (it will be closed). */
    void onUpstreamError(UpstreamConnection connection, Throwable cause);
}
