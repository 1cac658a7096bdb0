package io.portico.server.http1;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A user event saying the client broke the protocol or a deadline: the request in progress (or
 * the one being received) is answered with {@code status} if nothing has been sent for it yet, and
 * the connection closes. Fired by {@link RequestFramingGuard} and {@link ClientDeadlines}, handled
 * by {@link Http1ProxyHandler}.
 *
 * @param status  400 for bad framing, 408 for a timeout
 * @param reason  for the access log, such as {@code obs_fold} or {@code client_body_timeout}
 */
record ClientFault(HttpResponseStatus status, String reason) {
}
