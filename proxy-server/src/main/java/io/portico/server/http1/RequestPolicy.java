package io.portico.server.http1;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.portico.server.limits.AccessRules;
import io.portico.server.limits.RateLimiter;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.route.Route;

import java.net.InetAddress;
import java.util.Set;

/**
 * Who may send what: CIDR rules (403), rate limits (429 with {@code Retry-After}) and methods
 * (405 with {@code Allow}, 501 for methods nobody configured), on the listener before routing and
 * on the route after it.
 */
final class RequestPolicy {

    /** RFC 9110's methods and PATCH (RFC 5789); anything else is "unknown" unless a route lists it. */
    private static final Set<String> KNOWN = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
            "TRACE", "PATCH");

    private RequestPolicy() {
    }

    /** The listener's rules; null when the request may go on to routing. */
    static LocalExchange listener(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log) {
        ListenerContext context = client.context();
        return check(client, request, log, context.access(), context.rateLimiter(), "listener");
    }

    /** The route's rules; null when the request may go on. */
    static LocalExchange route(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route) {
        String method = request.method().name();
        if (!route.methods().isEmpty()) {
            if (!route.methods().contains(method)) {
                LocalExchange refused = LocalExchange.error(client, request, log, HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "method_not_allowed");
                String allow = String.join(", ", route.methods());
                refused.headers(h -> h.set(HttpHeaderNames.ALLOW, allow));
                return refused;
            }
        } else if (!route.allowUnknownMethods() && !KNOWN.contains(method)) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.NOT_IMPLEMENTED, "unknown_method");
        }
        return check(client, request, log, route.access(), route.rateLimiter(), "route");
    }

    private static LocalExchange check(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log,
                                       AccessRules access, RateLimiter limiter, String where) {
        if (!access.restricts() && limiter == null) {
            return null;
        }
        InetAddress peer = client.remote() == null ? null : client.remote().getAddress();
        if (!access.permits(peer)) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.FORBIDDEN, where + "_access_denied");
        }
        if (limiter != null) {
            long wait = limiter.acquire(request.headers(), peer, System.nanoTime());
            if (wait > 0) {
                LocalExchange refused = LocalExchange.error(client, request, log, HttpResponseStatus.TOO_MANY_REQUESTS,
                        where + "_rate_limited");
                long seconds = Math.max(1, (wait + 999_999_999L) / 1_000_000_000L);
                refused.headers(h -> h.setInt(HttpHeaderNames.RETRY_AFTER, (int) Math.min(Integer.MAX_VALUE, seconds)));
                return refused;
            }
        }
        return null;
    }
}
