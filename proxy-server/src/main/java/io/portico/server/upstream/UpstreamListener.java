package io.portico.server.upstream;

import io.netty.handler.codec.http.HttpObject;

/**
 * The exchange that currently owns an upstream connection or stream. Every call comes on the
 * connection's event loop, which is also the client's.
 */
public interface UpstreamListener {

    /** A response head or body part; the listener owns {@code msg} and must release it. */
    void onUpstreamMessage(UpstreamStream connection, HttpObject msg);

    /** The end of one read burst: the time to flush what was written to the client. */
    void onUpstreamReadComplete(UpstreamStream connection);

    /** The upstream socket became writable or unwritable. */
    void onUpstreamWritabilityChanged(UpstreamStream connection);

    /** The upstream connection or stream closed while this listener owned it. */
    void onUpstreamClosed(UpstreamStream connection);

    /**
     * The connection's watchdog fired: check the exchange's deadlines now.
     *
     * @return the next deadline ({@link System#nanoTime()} based) to check again at, or 0 for none
     */
    long onDeadlineCheck(long nowNanos);

    /** An exception on the upstream connection or stream (it will be closed). */
    void onUpstreamError(UpstreamStream connection, Throwable cause);
}
