package io.portico.server.http1;

import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.portico.http.PathNormalizer;
import io.portico.http.ReadClock;
import io.portico.http.RequestIds;
import io.portico.server.http2.Http2Counters;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.metrics.ListenerMetrics;
import io.portico.server.route.Route;
import io.portico.server.route.RouteAction;
import io.portico.websocket.WebSocketHandshake;

import java.net.InetAddress;
import io.portico.server.route.Router;
import io.portico.server.route.VirtualServer;

import java.util.List;

/**
 * One request on a client connection, from its head to the last byte of its answer. {@link #start}
 * validates and routes the head, then hands the request to a {@link ProxyExchange} (upstream) or a
 * {@link LocalExchange} (redirect, fixed response, or an error Portico answers itself).
 */
abstract class Exchange {

    static final System.Logger LOG = System.getLogger("portico");
    /** The error of a malformed stream's line (the key of its HTTP/2 counter). */
    static final String MALFORMED_REQUEST = Http2Counters.Reason.MALFORMED_REQUEST.key();

    final Http1ProxyHandler client;
    final HttpRequest request;
    final AccessLogRecord log;
    final long startNanos;
    final boolean head;
    final boolean http10;
    /** Its stream was reset as malformed, why; the line then says 400, as nginx's does. Else null. */
    private String malformedReason;

    Exchange(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log) {
        this.client = client;
        this.request = request;
        this.log = log;
        this.startNanos = ReadClock.nanoTime();
        this.head = HttpMethod.HEAD.equals(request.method());
        this.http10 = request.protocolVersion().minorVersion() == 0;
    }

    /** Starts answering; called once the handler has made this its current exchange. */
    abstract void begin();

    /** Whether the request's last part has arrived. */
    abstract boolean requestComplete();

    /**
     * Whether the request announced a body whose end has not arrived: the client may still be
     * sending it when the connection closes (see {@link LingeringClose}).
     */
    boolean bodyUnread() {
        return !requestComplete() && !RequestHeadChecks.announcesNoBody(request);
    }

    /** A part of the request body; the exchange owns it. */
    abstract void onRequestContent(HttpContent content);

    /** Whether the exchange can use more request bytes now. */
    abstract boolean wantsRequestBytes();

    /** The end of a read burst from the client. */
    abstract void onRequestReadComplete();

    abstract void onClientWritabilityChanged(boolean writable);

    /** The client connection closed before the exchange ended. */
    abstract void onClientClosed();

    /**
     * The client broke the framing or a deadline while this exchange was current: answer
     * {@code status} if nothing was sent yet, else cut the response; the connection closes either way.
     */
    void onClientFault(HttpResponseStatus status, String reason) {
        client.ctx().close();
    }

    /** Validates and routes a request head, and starts the exchange that answers it. */
    static Exchange start(Http1ProxyHandler client, HttpRequest request) {
        ListenerContext context = client.context();
        HttpHeaders headers = request.headers();
        AccessLogRecord log = newRecord(client, request);
        String incomingId = headers.get(context.requestIdHeader());
        log.requestId = incomingId != null && RequestIds.isValid(incomingId) ? incomingId : RequestIds.generate();

        if (request.protocolVersion().majorVersion() != 1) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, "bad_version");
        }
        RequestHeadChecks.Refusal refusal = RequestHeadChecks.check(request, context.config().http().maxHeaders());
        if (refusal != null) {
            return LocalExchange.error(client, request, log, refusal.status(), refusal.reason());
        }
        if (!context.config().http().underscoresInHeaders()) {
            RequestHeadChecks.dropUnderscoredNames(headers);
        }
        if (HttpMethod.CONNECT.equals(request.method())) {
            // A reverse proxy opens no tunnels: 501, which needs no Allow (a 405 must list the
            // methods the resource has, RFC 9110 section 15.5.6, and a CONNECT names no resource).
            return LocalExchange.error(client, request, log, HttpResponseStatus.NOT_IMPLEMENTED, "connect_not_supported");
        }
        String uri = request.uri();
        String authority = null;
        if (!uri.startsWith("/")) {
            int scheme = schemeLength(uri);
            if (scheme > 0) {
                // The authority ends at the path or, when the path is empty, at the query (RFC 3986 section 3.2).
                int end = scheme;
                while (end < uri.length() && uri.charAt(end) != '/' && uri.charAt(end) != '?') {
                    end++;
                }
                authority = uri.substring(scheme, end);
                uri = end == uri.length() ? "/" : uri.charAt(end) == '?' ? "/" + uri.substring(end) : uri.substring(end);
                request.setUri(uri);
            } else if (!(uri.equals("*") && HttpMethod.OPTIONS.equals(request.method()))) {
                return LocalExchange.error(client, request, log, HttpResponseStatus.BAD_REQUEST, "bad_request_target");
            }
        }
        List<String> hosts = headers.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.BAD_REQUEST, "repeated_host");
        }
        String hostHeader = authority != null ? authority : hosts.isEmpty() ? null : hosts.get(0);
        if (hosts.isEmpty() && !http10(request)) {
            // Also with an absolute-form target: RFC 9112 section 3.2 wants 400 for any HTTP/1.1
            // request without Host (an HTTP/2 request's :authority became its Host before this).
            return LocalExchange.error(client, request, log, HttpResponseStatus.BAD_REQUEST, "missing_host");
        }
        String host = null;
        if (hostHeader != null) {
            host = Router.normalizeHost(hostHeader);
            if (host == null) {
                return LocalExchange.error(client, request, log, HttpResponseStatus.BAD_REQUEST, "invalid_host");
            }
            if (authority != null) {
                headers.set(HttpHeaderNames.HOST, authority);
            }
        }
        log.host = hostHeader;

        // Routing sees the normal form of the path; the upstream still gets the target as sent.
        // OPTIONS * asks about the server as a whole (RFC 9110 section 9.3.7): it takes the route
        // of "/" and goes on as "*", as HAProxy forwards it (it found no route: 404).
        String path = uri.equals("*") ? "/" : PathNormalizer.normalize(path(uri));
        if (path == null) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.BAD_REQUEST, "invalid_path");
        }
        List<String> codings = headers.contains(HttpHeaderNames.TRANSFER_ENCODING)
                ? headers.getAll(HttpHeaderNames.TRANSFER_ENCODING) : List.of();
        if (!codings.isEmpty() && (codings.size() > 1 || !"chunked".equalsIgnoreCase(codings.get(0).trim()))) {
            // Only chunked is understood; forwarding anything else would let both ends frame the body differently.
            return LocalExchange.error(client, request, log, HttpResponseStatus.NOT_IMPLEMENTED, "unsupported_transfer_coding");
        }
        LocalExchange denied = RequestPolicy.listener(client, request, log);
        if (denied != null) {
            return denied;
        }
        VirtualServer server = context.router().select(host);
        String sni = client.sniName();
        if (sni != null && host != null && !sni.equals(host) && context.router().select(sni) != server) {
            // The connection was set up for another virtual server's certificate (RFC 9110 section 15.5.20).
            return LocalExchange.error(client, request, log, HttpResponseStatus.MISDIRECTED_REQUEST, "sni_host_mismatch");
        }
        Route route = server == null ? null : server.route(path);
        if (route == null) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.NOT_FOUND, "no_route");
        }
        log.route = route.name();
        denied = RequestPolicy.route(client, request, log, route);
        if (denied != null) {
            return denied;
        }

        boolean upgrade = false;
        if (client.stream() && WebSocketHandshake.isUpgradeRequest(request)
                && !(route.action() == RouteAction.UPSTREAM && route.websocket().enabled())) {
            // An extended CONNECT (RFC 8441, the only way an HTTP/2 request carries Upgrade) asks for a
            // tunnel; a route without WebSockets cannot give one, and answering 2xx would claim it did.
            return LocalExchange.error(client, request, log, HttpResponseStatus.NOT_IMPLEMENTED, "websocket_not_enabled");
        }
        // An HTTP/1.0 request's Upgrade is ignored (RFC 9110 section 7.8): the field is stripped as
        // hop-by-hop and the request answered as plain HTTP.
        if (route.action() == RouteAction.UPSTREAM && route.websocket().enabled() && !http10(request)
                && WebSocketHandshake.isUpgradeRequest(request)) {
            WebSocketHandshake.Rejection rejection = WebSocketHandshake.validate(request);
            if (rejection != null) {
                LocalExchange refused = LocalExchange.error(client, request, log, rejection.status(),
                        "bad_websocket_handshake");
                refused.headers(rejection::addHeadersTo);
                return refused;
            }
            upgrade = true;
        }
        long maxBody = route.maxBodySize();
        long length = HttpUtil.getContentLength(request, -1L);
        if (maxBody > 0 && length > maxBody) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large");
        }
        String expect = headers.get(HttpHeaderNames.EXPECT);
        if (expect != null && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect.trim())) {
            return LocalExchange.error(client, request, log, HttpResponseStatus.EXPECTATION_FAILED, "bad_expect");
        }
        if (upgrade) {
            if (length > 0 || headers.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
                // The opening handshake has no content (RFC 6455 section 4.1). Forwarded, the body would
                // end where Portico's framing says, while an upstream that switches at the end of the
                // head reads it as the first frames, which no relay checked. HTTP/2 refuses it too.
                return LocalExchange.error(client, request, log, HttpResponseStatus.BAD_REQUEST, "websocket_upgrade_body");
            }
            // The slot is taken last: only a ProxyExchange gives it back, so no refusal may follow.
            InetAddress peer = client.remote() == null ? null : client.remote().getAddress();
            if (!context.acquireWebSocket(peer)) {
                return LocalExchange.error(client, request, log, HttpResponseStatus.SERVICE_UNAVAILABLE, "websocket_limit");
            }
        }
        boolean expectContinue = false;
        if (expect != null) {
            headers.remove(HttpHeaderNames.EXPECT);
            // Like nginx: Portico asks for the body itself once it knows the request can go through.
            expectContinue = !http10(request);
        }
        switch (route.action()) {
            case REDIRECT -> {
                String location = route.redirectTemplate().expand(context.scheme(), host, hostHeader,
                        uri, route.regexMatch(path));
                return LocalExchange.redirect(client, request, log, route, location).continueIfReading(expectContinue);
            }
            case RESPOND -> {
                return LocalExchange.fixed(client, request, log, route).continueIfReading(expectContinue);
            }
            default -> {
                if (expectContinue) {
                    client.ctx().writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
                }
                if (route.cache() != null && !upgrade) {
                    return CacheExchange.start(client, request, log, route, host, maxBody);
                }
                return ProxyExchange.start(client, request, log, route, host, maxBody, upgrade);
            }
        }
    }

    private static boolean http10(HttpRequest request) {
        return request.protocolVersion().minorVersion() == 0;
    }

    /** Length of "http://" or "https://" at the start of {@code uri}, any case; 0 when neither. */
    private static int schemeLength(String uri) {
        if (uri.regionMatches(true, 0, "http://", 0, 7)) {
            return 7;
        }
        if (uri.regionMatches(true, 0, "https://", 0, 8)) {
            return 8;
        }
        return 0;
    }

    static String path(String uri) {
        int q = uri.indexOf('?');
        int h = uri.indexOf('#');
        int end = q < 0 ? h : h < 0 ? q : Math.min(q, h);
        return end < 0 ? uri : uri.substring(0, end);
    }

    private static AccessLogRecord newRecord(Http1ProxyHandler client, HttpRequest request) {
        AccessLogRecord r = new AccessLogRecord();
        if (!client.context().accessLog().enabled()) {
            // Nothing will be written: skip the header look-ups and the clock.
            return r;
        }
        r.remoteAddr = client.remoteText();
        r.startEpochMillis = System.currentTimeMillis();
        r.method = request.method().name();
        r.uri = request.uri();
        r.protocol = client.stream() ? protocolText(client.streamProtocol()) : request.protocolVersion().text();
        r.referer = request.headers().get(HttpHeaderNames.REFERER);
        r.userAgent = request.headers().get(HttpHeaderNames.USER_AGENT);
        r.listener = client.context().name();
        return r;
    }

    /** The access log's protocol of a request stream: {@link ListenerMetrics#HTTP_2} or {@link ListenerMetrics#HTTP_3}. */
    private static String protocolText(int streamProtocol) {
        return streamProtocol == ListenerMetrics.HTTP_3 ? "HTTP/3.0" : "HTTP/2.0";
    }

    /** Logs a request that was refused before an exchange could start (a malformed head). */
    static void logRejected(Http1ProxyHandler client, int status, String requestId, long bytes, String error) {
        AccessLogRecord r = new AccessLogRecord();
        r.remoteAddr = client.remoteText();
        r.startEpochMillis = System.currentTimeMillis();
        r.status = status;
        r.requestId = requestId;
        r.bodyBytesSent = bytes;
        r.listener = client.context().name();
        r.error = error;
        if (client.stream()) {
            // A stream's protocol is known without a head (an HTTP/1.1 line that failed to parse may not say).
            r.protocol = protocolText(client.streamProtocol());
        }
        // No latency: the request never got a head worth timing.
        client.context().metrics().request(null, client.stream() ? client.streamProtocol() : ListenerMetrics.HTTP_1_1,
                status, -1);
        client.context().accessLog().log(r);
    }

    /**
     * Logs a request stream reset as malformed before an exchange took it (see
     * {@link MalformedStream}): 400 and no bytes, as nginx logs it, with whatever fields were read.
     *
     * @param protocol   {@link ListenerMetrics#HTTP_2} or {@link ListenerMetrics#HTTP_3}
     * @param protocolKnown log the protocol even without a request line (the stream's own handler
     *                      knows it; a stream HTTP/2's codec refused as malformed before it opened
     *                      is logged without one)
     */
    static void logMalformed(ListenerContext context, String remote, int protocol, MalformedStream stream,
                             boolean protocolKnown) {
        logRefused(context, remote, protocol, HttpResponseStatus.BAD_REQUEST, stream, protocolKnown);
    }

    /**
     * Logs a request stream refused with {@code refusal} before an exchange took it: a malformed
     * one (see {@link #logMalformed}), or an HTTP/2 one whose header list Netty's codec answered 431.
     * {@code stream} carries the line's error and whatever fields were read.
     */
    static void logRefused(ListenerContext context, String remote, int protocol, HttpResponseStatus refusal,
                           MalformedStream stream, boolean protocolKnown) {
        int status = refusal.code();
        context.metrics().request(null, protocol, status, -1);
        if (!context.accessLog().enabled()) {
            return;
        }
        AccessLogRecord r = new AccessLogRecord();
        r.remoteAddr = remote;
        r.startEpochMillis = System.currentTimeMillis();
        r.method = stream.method();
        r.uri = stream.path();
        if (protocolKnown || r.method != null || r.uri != null) {
            r.protocol = protocolText(protocol);
        }
        r.status = status;
        r.host = stream.authority();
        r.referer = stream.field(HttpHeaderNames.REFERER);
        r.userAgent = stream.field(HttpHeaderNames.USER_AGENT);
        String incomingId = stream.field(context.requestIdHeader());
        r.requestId = incomingId != null && RequestIds.isValid(incomingId) ? incomingId : RequestIds.generate();
        r.listener = context.name();
        r.error = stream.reason();
        context.accessLog().log(r);
    }

    /**
     * Its stream is being reset as malformed: the line ends with 400 and {@code reason} rather
     * than, say, 499 client_closed.
     */
    void malformed(String reason) {
        malformedReason = reason;
    }

    /** Adds the headers every response from Portico carries. */
    void decorate(FullHttpResponse r) {
        r.headers().set(client.context().requestIdHeader(), log.requestId);
    }

    /** Ends the access log line and hands it to the writer thread. */
    void finishLog(int status, long bodyBytes, String error) {
        if (malformedReason != null) {
            status = HttpResponseStatus.BAD_REQUEST.code();
            error = malformedReason;
        }
        log.status = status;
        log.bodyBytesSent = bodyBytes;
        log.requestNanos = ReadClock.nanoTime() - startNanos;
        if (error != null && log.error == null) {
            log.error = error;
        }
        int protocol = client.stream() ? client.streamProtocol()
                : http10 ? ListenerMetrics.HTTP_1_0 : ListenerMetrics.HTTP_1_1;
        client.context().metrics().request(log.route, protocol, status, log.requestNanos);
        client.context().accessLog().log(log);
    }
}
