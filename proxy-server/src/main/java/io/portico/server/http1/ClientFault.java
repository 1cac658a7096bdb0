package io.portico.server.http1;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A user event saying the client broke the protocol or a deadline: the request in progress (or
 * the one being received) is answered with {@code status} if nothing has been sent for it yet, and
 * the connection (for an HTTP/2 or HTTP/3 request stream, the stream) closes. Fired by
 * {@link RequestFramingGuard} and {@link ClientDeadlines}, and by the HTTP/2 and HTTP/3 stream
 * bridges (their header and body timeouts and min_body_rate, kept by {@link StreamDeadlines}; an
 * oversized header section); handled by {@link Http1ProxyHandler}.
 *
 * @param status  400 for bad framing, 408 for a timeout, 431 for a header section over the limit
 * @param reason  for the access log, such as {@code obs_fold} or {@code client_body_timeout}
 */
public record ClientFault(HttpResponseStatus status, String reason) {
}
