package io.portico.server.upstream;

import io.netty.channel.Channel;

/**
 * One request's way to a backend, whatever the protocol: an HTTP/1.1 {@link UpstreamConnection}
 * carrying one request at a time, or an {@link Http2UpstreamStream} multiplexed with others over an
 * HTTP/2 connection. The exchange writes HTTP/1.x message objects ({@code HttpRequest},
 * {@code HttpContent}) to {@link #channel()} and receives the response as HTTP/1.x objects through
 * its {@link UpstreamListener}, so it needs to know nothing of the wire protocol.
 */
public interface UpstreamStream {

    /** Where the request goes and where reads are asked for; writability is this stream's backpressure. */
    Channel channel();

    Backend backend();

    /** Hands the stream to an exchange; its events go to {@code listener} from now on. */
    void attach(UpstreamListener listener);

    /**
     * Gives the stream back after a clean exchange. {@code reusable} says whether the connection could
     * carry another request (HTTP/1.1 keep-alive); an HTTP/2 stream ends either way.
     */
    void release(boolean reusable);

    /** Ends the stream after an error: an HTTP/1.1 connection is closed, an HTTP/2 stream reset. */
    void abort();

    /** True when an earlier request used the same connection, so a keep-alive race is possible. */
    boolean reused();

    /**
     * True when the backend said it did not process the request — REFUSED_STREAM, or a GOAWAY whose
     * last-stream-id is below this stream — or the request never left: retrying it is always safe.
     */
    boolean unprocessed();

    /** Makes sure the owner's deadlines are checked at or before {@code deadlineNanos}. */
    void watch(long deadlineNanos);
}
