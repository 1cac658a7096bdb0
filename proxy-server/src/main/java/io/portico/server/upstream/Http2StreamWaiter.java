package io.portico.server.upstream;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * An exchange asking an {@link Http2ConnectionPool} for a stream. Exactly one of the two methods is
 * called, on the pool's event loop, possibly before {@link Http2ConnectionPool#acquire} returns;
 * neither is called after {@link Http2ConnectionPool#cancel}.
 */
public interface Http2StreamWaiter {

    /** A stream of an HTTP/2 connection, ready for the request's HEADERS. */
    void streamReady(UpstreamStream stream);

    /**
     * No stream could be had; nothing was sent to the backend, so the request may go elsewhere.
     *
     * @param backendFault the backend failed (connect, TLS, protocol), as opposed to Portico's own
     *                     limits being reached; counts for passive health
     */
    void streamFailed(HttpResponseStatus status, String reason, boolean backendFault);
}
