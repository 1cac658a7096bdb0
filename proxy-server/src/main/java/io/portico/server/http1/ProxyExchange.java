package io.portico.server.http1;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.HttpClientCodec;
import io.portico.http.ReadClock;
import io.portico.websocket.RelayLimits;
import io.portico.websocket.WebSocketHandshake;
import io.portico.websocket.WebSocketRelay;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AsciiString;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.http.ForwardedHeaders;
import io.portico.http.HopByHopHeaders;
import io.portico.server.cache.CacheFill;
import io.portico.server.cache.CacheStatus;
import io.portico.server.cache.RouteCache;
import io.portico.server.config.ForwardingConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.route.Route;
import io.portico.server.config.ProxyProtocolVersion;
import io.portico.server.l4.ClientAddress;
import io.portico.server.l4.ProxyHeaders;
import io.portico.server.upstream.Backend;
import io.portico.server.upstream.ConnectionPool;
import io.portico.server.upstream.GroupLoop;
import io.portico.server.upstream.Http2StreamWaiter;
import io.portico.server.upstream.UpstreamChannelInitializer;
import io.portico.server.upstream.UpstreamConnection;
import io.portico.server.upstream.UpstreamFramingException;
import io.portico.server.upstream.UpstreamListener;
import io.portico.server.upstream.UpstreamStream;

import javax.net.ssl.SSLException;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One request proxied to a backend and its response proxied back. Everything runs on the client's
 * event loop, which is also the upstream connection's.
 *
 * <p>Retries: the request goes to another backend (or a fresh connection) only when the backend
 * cannot have acted on it — the connection failed before anything was sent, or an idempotent request
 * whose body was not sent failed on a reused keep-alive connection before any response byte — and
 * only within the attempt count and the group's retry budget. A connection that saw an error is
 * closed, never pooled. Over HTTP/2 a stream the backend did not process (REFUSED_STREAM, or above a
 * GOAWAY's last-stream-id) is retried on the same backend whatever the method, outside the budget,
 * as long as no body part was handed to it.
 *
 * <p>Cache: with a {@link CacheFill} the response is judged and its body stored as it streams
 * past; a 304 or a failure the stale response may cover hands the client back to the
 * {@link CacheExchange} that started this one. A fill keeps going when its client leaves
 * ({@code detached}), and a background revalidation runs detached from the start.
 */
final class ProxyExchange extends Exchange
        implements UpstreamListener, Http2StreamWaiter, Predicate<Backend>, Runnable {

    static final AsciiString PSEUDONYM = AsciiString.cached("portico");

    private static final int WAITING_CONNECTION = 0;
    private static final int WAITING_HEAD = 1;
    private static final int READING_BODY = 2;
    private static final int DONE = 3;

    private final Route route;
    private final GroupLoop group;
    private final UpstreamConfig config;
    private final long maxBody;
    private final long keyHash;
    private final boolean idempotent;
    private final ChannelHandlerContext clientCtx;
    private final boolean upgrade;
    private boolean switching;
    private boolean switched;

    private int state = WAITING_CONNECTION;
    private boolean clientKeepAlive;
    private ArrayDeque<HttpContent> pending;
    private boolean requestComplete;
    /**
     * The request has no body and its end went upstream with its head, as one message: the
     * client's (empty) end is not written again when it comes.
     */
    private boolean endSent;
    private long requestBodyBytes;
    private boolean bodySent;

    private Backend backend;
    private boolean backendCounted;
    private UpstreamStream upstream;
    private boolean waitingForStream;
    private int attempts;
    private long triedMask;
    private boolean freshConnection;
    private long upstreamStartNanos;

    private boolean informational;
    private boolean responseStarted;
    /**
     * A response head not written yet, to go out with its body in one message when the body's end
     * comes in the same read (see {@link #holdsHead}); written by itself at the read's end, or
     * before the connection is given up.
     */
    private HttpResponse heldHead;
    private boolean upstreamKeepAlive;
    private long responseBytes;
    private int status;
    private boolean upstreamPaused;
    private long lastUpstreamReadNanos;

    private boolean upstreamWasReused;
    private HttpResponseStatus lastFailureStatus = HttpResponseStatus.BAD_GATEWAY;
    private String lastFailure;
    private boolean hostFromBackend;
    private boolean forwardInformational;
    private boolean deflate;
    private ScheduledFuture<?> timer;
    private long timerDeadline;
    private long headerDeadline;
    private long totalDeadline;

    private CacheFill fill;
    private CacheExchange cacheOwner;
    private String cacheStatus;
    private RouteCache invalidates;
    private String invalidateHost;
    /** No client to answer any more (it left, or this is a background revalidation): only the fill reads. */
    private boolean detached;
    private boolean background;
    private boolean logged;
    private boolean lifecycleEnded;
    /**
     * The client asked HEAD and the cache sent GET upstream to fill the object (nginx's
     * proxy_cache_convert_head): the client gets the head only, the body goes to the fill.
     */
    private boolean headOnly;
    /** The origin's answer is a 304 or an error the stale response covers: discard it, then hand back. */
    private boolean handover;
    /** When the upstream connection last turned unwritable with request bytes queued; 0 while it is writable. */
    private long sendBlockedSince;

    private ProxyExchange(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route,
                          String host, long maxBody, boolean upgrade) {
        super(client, request, log);
        this.upgrade = upgrade;
        this.route = route;
        this.clientCtx = client.ctx();
        this.group = route.upstream().forLoop(clientCtx.channel().eventLoop());
        this.config = route.upstream().config();
        this.maxBody = maxBody;
        InetAddress clientAddress = client.remote() == null ? null : client.remote().getAddress();
        this.keyHash = route.upstream().hashKey().hash(request, host, clientAddress);
        HttpMethod m = request.method();
        this.idempotent = m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS
                || m == HttpMethod.PUT || m == HttpMethod.DELETE || m == HttpMethod.TRACE;
    }

    /**
     * Fills or revalidates the cache with this fetch; {@code owner} gets the client back when the
     * stored response is to be served after all (304 from the origin, or stale on error).
     */
    void cacheFill(CacheFill fill, CacheExchange owner) {
        this.fill = fill;
        this.cacheOwner = owner;
    }

    /**
     * The client's HEAD went upstream as this GET (the request's method is GET already): answer the
     * client with the head only while the fill takes the body.
     */
    void headOnly() {
        this.headOnly = true;
    }

    /** A Cache-Status value for the response on a cache-enabled route that bypasses the cache. */
    void cacheStatus(String value) {
        this.cacheStatus = value;
        log.cacheStatus = "BYPASS";
    }

    /** After a non-error answer, invalidate what the cache holds for the URI and its Location(s). */
    void invalidateOnSuccess(RouteCache cache, String host) {
        this.invalidates = cache;
        this.invalidateHost = host;
    }

    /**
     * A revalidation in the background (stale-while-revalidate): nobody is answered and nothing is
     * logged; the fill freshens or replaces the stored response. The request must be complete.
     */
    static ProxyExchange background(Http1ProxyHandler client, HttpRequest request, Route route, String host,
                                    CacheFill fill, String requestId) {
        AccessLogRecord log = new AccessLogRecord();
        log.requestId = requestId;
        ProxyExchange p = new ProxyExchange(client, request, log, route, host, 0, false);
        p.fill = fill;
        p.background = true;
        p.detached = true;
        p.onRequestContent(LastHttpContent.EMPTY_LAST_CONTENT);
        return p;
    }

    /** @param upgrade a validated WebSocket upgrade: forward it and turn into a relay on the upstream's 101 */
    static ProxyExchange start(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route,
                               String host, long maxBody, boolean upgrade) {
        if (upgrade) {
            client.expectUpgrade();
        }
        return new ProxyExchange(client, request, log, route, host, maxBody, upgrade);
    }

    @Override
    void begin() {
        client.context().lifecycle().requestStarted();
        prepareRequest();
        group.onRequest();
        if (config.totalTimeout().toNanos() > 0) {
            totalDeadline = startNanos + config.totalTimeout().toNanos();
            armTimer(totalDeadline);
        }
        tryBackend();
    }

    /** Rewrites the client's head into the upstream request, in place. */
    private void prepareRequest() {
        HttpHeaders headers = request.headers();
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        String host = headers.get(HttpHeaderNames.HOST);
        // TE is hop-by-hop, but "TE: trailers" means the same end to end over HTTP/2 (gRPC needs it).
        boolean teTrailers = group.multiplexed() && headers.containsValue(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS, true);
        int connection = HopByHopHeaders.strip(headers);
        if (teTrailers) {
            headers.set(HttpHeaderNames.TE, HttpHeaderValues.TRAILERS);
        }
        clientKeepAlive = http10 ? (connection & HopByHopHeaders.KEEP_ALIVE) != 0
                : (connection & HopByHopHeaders.CLOSE) == 0;
        if (chunked) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        if (upgrade) {
            // The one hop-by-hop exchange that must reach the upstream.
            headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            if (route.relayMode() == WebSocketRelay.Mode.FRAMES) {
                if (route.websocket().deflate()) {
                    // The relay checks every frame and follows only permessage-deflate: offer nothing else.
                    WebSocketHandshake.keepOnlyDeflateOffers(headers);
                } else {
                    // No compression: the limits and the UTF-8 check see each message as it is.
                    headers.remove(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
                }
            }
        }
        ListenerContext context = client.context();
        ForwardingConfig fwd = context.forwarding();
        InetAddress peer = client.remote() == null ? null : client.remote().getAddress();
        if (peer != null) {
            ForwardedHeaders.apply(headers, peer, context.trustedProxies().contains(peer), context.scheme(),
                    host == null || host.isEmpty() ? null : host, fwd.xForwarded(), fwd.forwarded(), fwd.via(), PSEUDONYM);
        }
        headers.set(context.requestIdHeader(), log.requestId);
        // Only Portico vouches for a client certificate: whatever the client sent in those fields
        // is dropped, on plain listeners too (the origin behind them may trust the fields).
        for (AsciiString name : context.certificateFields()) {
            headers.remove(name);
        }
        if (context.tls() != null) {
            if (client.clientSubject() != null) {
                headers.set(context.clientSubjectHeader(), client.clientSubject());
                headers.set(context.clientFingerprintHeader(), client.clientFingerprint());
            }
        }
        route.requestHeaders().apply(headers);
        if (fill != null) {
            fill.prepare(headers);
        }
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
    }

    // ---- choosing a backend and a connection -------------------------------------------------

    /** The balancer's filter: not tried yet, not marked down, under its connection limit. */
    @Override
    public boolean test(Backend b) {
        int i = b.index();
        if (i < 64 && (triedMask & (1L << i)) != 0) {
            return false;
        }
        // At max_connections a member still serves requests over its idle pooled connections.
        return group.inRotation(b) && !b.isDown()
                && (!b.atConnectionLimit() || group.hasReusable(b));
    }

    private void tryBackend() {
        Backend b = backend != null && freshConnection ? backend : group.pick(keyHash, this);
        if (b == null) {
            // Nothing left to try: answer with what went wrong last, or 503 when nothing was eligible.
            fail(attempts == 0 ? HttpResponseStatus.SERVICE_UNAVAILABLE : lastFailureStatus,
                    attempts == 0 ? "no_live_upstream" : lastFailure);
            return;
        }
        if (b.index() < 64) {
            triedMask |= 1L << b.index();
        }
        backend = b;
        // WebSocket upgrades need HTTP/1.1 even when the group speaks HTTP/2.
        boolean multiplexed = group.multiplexed() && !upgrade;
        ConnectionPool pool = group.pool(b);
        // A connection that began with a PROXY header speaks for one client: never shared through the pool.
        long now = ReadClock.nanoTime();
        UpstreamConnection pooled = freshConnection || multiplexed || sendsProxyHeader() ? null : pool.pollIdle(now);
        freshConnection = false;
        if (pooled == null && !multiplexed && b.atConnectionLimit()) {
            // Its pooled connections turned out stale and it is full: pick again without it.
            tryBackend();
            return;
        }
        attempts++;
        if (!request.headers().contains(HttpHeaderNames.HOST)) {
            // An HTTP/1.0 client may send no Host, but the request goes upstream as HTTP/1.1, which
            // requires one: name the backend, as nginx's default proxy_set_header Host $proxy_host does.
            request.headers().set(HttpHeaderNames.HOST, b.key());
            hostFromBackend = true;
        } else if (hostFromBackend) {
            request.headers().set(HttpHeaderNames.HOST, b.key());
        }
        b.requestStarted();
        backendCounted = true;
        upstreamStartNanos = now;
        log.upstreamAddr = log.upstreamAddr == null ? b.key() : log.upstreamAddr + ", " + b.key();
        if (multiplexed) {
            waitingForStream = true;
            group.http2Pool(b).acquire(this);
            return;
        }
        if (pooled != null) {
            attach(pooled);
            return;
        }
        ChannelFuture f = pool.connect();
        if (f.isDone()) {
            onConnect(f);
        } else {
            // Allocated only when a new connection is opened; pooled requests never pay for it.
            f.addListener((ChannelFutureListener) this::onConnect);
        }
    }

    private void onConnect(ChannelFuture f) {
        if (state == DONE) {
            f.channel().close();
            return;
        }
        if (!f.isSuccess()) {
            group.group().metrics().connectFailed();
            endBackend();
            boolean timeout = f.cause() instanceof ConnectTimeoutException;
            backend.recordConnectFailure(System.nanoTime(), timeout ? "connect timeout" : "connect refused");
            retryOrFail(true, timeout ? HttpResponseStatus.GATEWAY_TIMEOUT : HttpResponseStatus.BAD_GATEWAY,
                    timeout ? "upstream_connect_timeout" : "upstream_connect_failed");
            return;
        }
        if (sendsProxyHeader()) {
            // From the head of the pipeline, so it goes out raw, ahead of the request.
            Channel ch = f.channel();
            ch.pipeline().firstContext().writeAndFlush(ProxyHeaders.encode(group.group().config().proxyProtocol(),
                    client.remote(), ClientAddress.destinationOf(client.ctx().channel()), ch.alloc()), ch.voidPromise());
        }
        attach(f.channel().pipeline().get(UpstreamConnection.class));
    }

    private boolean sendsProxyHeader() {
        return group.group().config().proxyProtocol() != ProxyProtocolVersion.OFF;
    }


    @Override
    public void streamReady(UpstreamStream stream) {
        waitingForStream = false;
        attach(stream);
    }

    @Override
    public void streamFailed(HttpResponseStatus failStatus, String reason, boolean backendFault) {
        waitingForStream = false;
        endBackend();
        if (backendFault) {
            backend.recordFailure(System.nanoTime());
        }
        retryOrFail(true, failStatus, reason);
    }

    private void attach(UpstreamStream connection) {
        group.group().metrics().requestSent(connection.reused());
        upstream = connection;
        connection.attach(this);
        state = WAITING_HEAD;
        Channel ch = connection.channel();
        // Void promises: a failed write surfaces as exceptionCaught, which ends the exchange anyway.
        if (RequestHeadChecks.announcesNoBody(request)) {
            // Head and end in one message: one pass down the upstream pipeline, not two. Whatever
            // waits is empty (at most the end, with trailers a Content-Length-framed request drops).
            releasePending();
            endSent = true;
            // (Its request line was checked when the request was made: not again.)
            ch.write(new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                    Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE, false), ch.voidPromise());
        } else {
            ch.write(request, ch.voidPromise());
            boolean ended = false;
            if (pending != null) {
                HttpContent c;
                while ((c = pending.poll()) != null) {
                    bodySent |= c.content().isReadable() || c != LastHttpContent.EMPTY_LAST_CONTENT;
                    ended |= c instanceof LastHttpContent;
                    ch.write(c, ch.voidPromise());
                }
            }
            if (requestComplete && !ended) {
                // A retry of a request whose (empty) end went to the connection that failed: this
                // connection's encoder must see the end too, or it takes the next request it is
                // given on reuse for part of this one and fails it.
                ch.write(LastHttpContent.EMPTY_LAST_CONTENT, ch.voidPromise());
            }
        }
        ch.flush();
        if (requestComplete) {
            armHeaderTimer();
        } else if (ch.isWritable()) {
            client.maybeRead();
        }
        ch.read();
    }

    /**
     * After a failed attempt: retry when that is safe and allowed, else answer {@code status}.
     *
     * @param nothingSent the backend cannot have seen the request (the connection never opened)
     */
    private void retryOrFail(boolean nothingSent, HttpResponseStatus status, String reason) {
        boolean safe = nothingSent
                || (idempotent && !bodySent && !responseStarted && upstreamWasReused);
        lastFailureStatus = status;
        lastFailure = reason;
        if (safe && attempts < config.retry().attempts() && state != DONE && group.tryRetry(System.nanoTime())) {
            // A keep-alive race is not the backend's fault: try it again on a fresh connection.
            freshConnection = !nothingSent && upstreamWasReused && !backend.isDown();
            upstreamWasReused = false;
            state = WAITING_CONNECTION;
            tryBackend();
            return;
        }
        fail(status, reason);
    }

    // ---- request body: client → upstream ------------------------------------------------------

    @Override
    boolean requestComplete() {
        return requestComplete;
    }

    @Override
    void onRequestContent(HttpContent content) {
        if (state == DONE) {
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            // The body's framing broke after the head went upstream: the upstream never gets its end.
            content.release();
            onClientFault(HttpResponseStatus.BAD_REQUEST, "bad_request_body");
            return;
        }
        requestBodyBytes += content.content().readableBytes();
        if (maxBody > 0 && requestBodyBytes > maxBody) {
            content.release();
            fail(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large");
            return;
        }
        boolean last = content instanceof LastHttpContent;
        if (last) {
            requestComplete = true;
        }
        if (endSent) {
            // The end went with the head (a request without a body brings only its empty end).
            content.release();
            if (last && upstream != null) {
                armHeaderTimer();
            }
            return;
        }
        if (upstream != null) {
            bodySent |= content.content().isReadable() || content != LastHttpContent.EMPTY_LAST_CONTENT;
            upstream.channel().write(content, upstream.channel().voidPromise());
            if (last) {
                upstream.channel().flush();
                armHeaderTimer();
            }
        } else {
            if (pending == null) {
                pending = new ArrayDeque<>(4);
            }
            pending.add(content);
        }
    }

    @Override
    boolean wantsRequestBytes() {
        return state != DONE && !requestComplete && upstream != null && upstream.channel().isWritable();
    }

    @Override
    void onRequestReadComplete() {
        if (upstream != null && state != DONE) {
            upstream.channel().flush();
        }
    }

    @Override
    public void onUpstreamWritabilityChanged(UpstreamStream connection) {
        if (connection.channel().isWritable()) {
            sendBlockedSince = 0;
            if (!background) {
                client.maybeRead();
            }
        } else if (sendBlockedSince == 0 && connection == upstream && state != DONE) {
            // The backend takes none of the request's bytes: the client is held back meanwhile
            // (its own body clock pauses), so this clock is what ends a backend that never reads.
            sendBlockedSince = ReadClock.nanoTime();
            armTimer(sendBlockedSince + config.sendTimeout().toNanos());
        }
    }

    // ---- response: upstream → client ----------------------------------------------------------

    @Override
    public void onUpstreamMessage(UpstreamStream connection, HttpObject msg) {
        if (state == DONE) {
            ReferenceCountUtil.release(msg);
            return;
        }
        lastUpstreamReadNanos = ReadClock.nanoTime();
        if (msg instanceof HttpResponse response) {
            onResponseHead(response);
            if (msg instanceof HttpContent content) {
                onResponseContent(content);
            }
            return;
        }
        onResponseContent((HttpContent) msg);
    }

    private void onResponseHead(HttpResponse response) {
        if (response.decoderResult().isFailure()) {
            upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_invalid_response");
            return;
        }
        int code = response.status().code();
        if (code == 101) {
            if (!upgrade) {
                // Upgrade was not forwarded, so a 101 answers nothing that was asked.
                upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_unexpected_101");
            } else if (!WebSocketHandshake.switchesToWebSocket(response)) {
                upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_websocket_upgrade");
            } else if (!WebSocketHandshake.acceptMatches(request, response)) {
                upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_websocket_accept");
            } else if (!WebSocketHandshake.subprotocolAcceptable(request, response)) {
                // The client would fail the connection itself (RFC 6455 section 4.1), after the upstream's side opened.
                upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_websocket_protocol");
            } else if (route.relayMode() == WebSocketRelay.Mode.FRAMES
                    && !WebSocketHandshake.extensionsAcceptable(request, response)) {
                // Otherwise the first frame using the extension would end the connection with 1002 or 1011.
                upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_websocket_extension");
            } else {
                acceptUpgrade(response);
            }
            return;
        }
        if (upgrade && client.stream() && code >= 200 && code < 300) {
            // Over HTTP/2 a 2xx to the extended CONNECT says the WebSocket is open (RFC 8441 section
            // 5): an upstream that ignored the upgrade opened none, and its body is no frames. (An
            // HTTP/1.1 client knows that only a 101 switches, so it gets the answer as it is.)
            if (upstream != null) {
                upstream.abort();
                upstream = null;
            }
            endBackend();
            fail(HttpResponseStatus.BAD_GATEWAY, "upstream_ignored_websocket_upgrade");
            return;
        }
        if (code < 200) {
            // 100 was answered by Portico itself; other 1xx (103 Early Hints) go on to HTTP/1.1 clients.
            informational = true;
            forwardInformational = code != 100 && !http10 && !detached;
            if (forwardInformational) {
                // Hop-by-hop fields end at this hop on every message, interim ones too (RFC 9110 7.6.1).
                HopByHopHeaders.strip(response.headers());
                response.setProtocolVersion(HttpVersion.HTTP_1_1);
                clientCtx.write(response, clientCtx.voidPromise());
            }
            return;
        }
        state = READING_BODY;
        status = code;
        responseStarted = true;
        armTimer(lastUpstreamReadNanos + config.readTimeout().toNanos());
        backend.recordResponse(code);
        HttpHeaders headers = response.headers();
        boolean chunked = HttpUtil.isTransferEncodingChunked(response);
        boolean hasLength = headers.contains(HttpHeaderNames.CONTENT_LENGTH);
        int connection = HopByHopHeaders.strip(headers);
        boolean bodyless = head || code == 204 || code == 304;
        if (fill != null) {
            CacheFill.Outcome outcome = fill.onHead(response);
            if (outcome == CacheFill.Outcome.NOT_MODIFIED || outcome == CacheFill.Outcome.STALE_ON_ERROR
                    || outcome == CacheFill.Outcome.REFETCH) {
                // The stored response answers (or, for REFETCH, a new fetch does); this one is read
                // to its end so the connection can be reused.
                handover = true;
            }
            CacheStatus.add(headers, fill.status());
            log.cacheStatus = fill.logStatus();
        } else if (cacheStatus != null) {
            CacheStatus.add(headers, cacheStatus);
        }
        if (invalidates != null && code < 400) {
            invalidates.invalidate(client.context().scheme(), invalidateHost, request.uri(), headers);
        }
        upstreamKeepAlive = response.protocolVersion().minorVersion() == 0
                ? (connection & HopByHopHeaders.KEEP_ALIVE) != 0 && (hasLength || bodyless)
                : (connection & HopByHopHeaders.CLOSE) == 0 && (hasLength || chunked || bodyless);
        boolean keepAlive = clientKeepAlive && requestComplete && client.connectionReusable();
        if (head && chunked) {
            // A HEAD answer describes the GET answer, framing included.
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else if (!bodyless && !hasLength) {
            if (http10) {
                keepAlive = false;
            } else {
                headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
        }
        clientKeepAlive = keepAlive;
        // (A stream's bridge drops connection-specific fields: nothing to set for it.)
        if (!keepAlive && !client.stream()) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (keepAlive && http10) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        if (client.context().forwarding().via()) {
            ForwardedHeaders.addVia(headers, PSEUDONYM);
        }
        headers.set(client.context().requestIdHeader(), log.requestId);
        route.responseHeaders().apply(headers);
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (handover || detached) {
            // Nobody gets this head; a body part it carries goes through onResponseContent.
            return;
        }
        if (holdsHead(bodyless, hasLength)) {
            heldHead = response;
            return;
        }
        clientCtx.write(response, clientCtx.voidPromise());
        if (headOnly) {
            if (fill == null || !fill.storing()) {
                // Nothing will be stored: the body is of no use to anybody, so it is not downloaded.
                endHeadOnly();
            } else {
                detachAfterHead();
            }
        }
    }

    /**
     * Whether a head waits for its body's end to go out as one message: a response of a known
     * length not stored in the cache, to a plain HTTP/1.1 connection, whose body usually came in the
     * same read (a small one always does). One write, one pass down the client's pipeline and one
     * buffer instead of two, and a body that fits goes in the head's buffer.
     */
    private boolean holdsHead(boolean bodyless, boolean hasLength) {
        return hasLength && !bodyless && !headOnly && fill == null && client.encodesHeads();
    }

    /** Writes a {@link #heldHead} by itself: its body did not end in the read that brought it. */
    private void writeHeldHead() {
        if (heldHead != null) {
            clientCtx.write(heldHead, clientCtx.voidPromise());
            heldHead = null;
        }
    }

    /**
     * A converted HEAD has its whole answer with the head: the client's response ends now (its
     * connection can take the next request) and the fill reads the body on without it, as a fill
     * whose client left does.
     */
    private void detachAfterHead() {
        detached = true;
        ChannelFuture written = clientCtx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        end(status, null);
        client.exchangeDone(clientKeepAlive, written);
    }

    /** A converted HEAD is answered: the head went out, the client's (empty) body ends here. */
    private void endHeadOnly() {
        if (!finish()) {
            return;
        }
        ChannelFuture written = clientCtx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        end(status, null);
        client.exchangeDone(clientKeepAlive, written);
    }

    /** Passes the upstream's 101 on; the switch to the relay happens with the 101's last part. */
    private void acceptUpgrade(HttpResponse response) {
        cancelTimer();
        status = 101;
        switching = true;
        deflate = WebSocketHandshake.deflateNegotiated(response);
        HttpHeaders headers = response.headers();
        HopByHopHeaders.strip(headers);
        headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        if (client.context().forwarding().via()) {
            // As on every other response (RFC 9110 section 7.6.3).
            ForwardedHeaders.addVia(headers, PSEUDONYM);
        }
        headers.set(client.context().requestIdHeader(), log.requestId);
        route.responseHeaders().apply(headers);
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
        clientCtx.write(response, clientCtx.voidPromise());
    }

    /**
     * Both connections become a WebSocket relay. Called while the upstream's HTTP decoder is
     * delivering the 101's last part: the relay handlers go in first, then the HTTP handlers leave,
     * so frames that arrived right behind the 101 reach the relay, in order.
     */
    private void switchToRelay() {
        state = DONE;
        switched = true;
        Channel up = upstream.channel();
        Channel down = clientCtx.channel();
        InetAddress peer = client.remote() == null ? null : client.remote().getAddress();
        ListenerContext context = client.context();
        clientCtx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        upstream = null;
        // A tunnel's upstream side is closed with the client connections at shutdown.
        context.lifecycle().connectionOpened(up);
        context.metrics().webSocketOpened();
        // ClientDeadlines, which held the send timeout, leaves with the HTTP handlers: the relay takes it over.
        RelayLimits limits = route.relayLimits().withSendTimeout(context.config().http().sendTimeout());
        WebSocketRelay.start(down, up, route.relayMode(), limits, deflate, () -> {
            endBackend();
            context.releaseWebSocket(peer);
            context.metrics().webSocketClosed();
        });
        // Handlers behind a decoder leave before it, so the bytes it still holds reach the relay.
        up.pipeline().remove(UpstreamConnection.class);
        up.pipeline().remove(HttpClientCodec.class);
        UpstreamChannelInitializer.removeFramingGuard(up.pipeline());
        end(101, null);
        client.upgraded();
        if (down.pipeline().get(IdleStateHandler.class) != null) {
            down.pipeline().remove(IdleStateHandler.class);
        }
        // An HTTP/2 stream (RFC 8441) has no HTTP/1 handlers: its bridge turns to DATA frames by itself.
        Http1ServerInitializer.removeHttpHandlers(down.pipeline());
    }

    private void onResponseContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        if (switching) {
            content.release();
            if (last) {
                switchToRelay();
            }
            return;
        }
        if (informational) {
            if (forwardInformational) {
                clientCtx.write(content, clientCtx.voidPromise());
            } else {
                content.release();
            }
            if (last) {
                informational = false;
                forwardInformational = false;
            }
            return;
        }
        if (!responseStarted) {
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            content.release();
            abort("upstream_invalid_body");
            return;
        }
        if (handover || detached) {
            if (!handover) {
                fill.onContent(content.content());
                if (!fill.storing()) {
                    // Grew past the object limit with nobody left to pass it to: stop fetching it.
                    content.release();
                    if (finish()) {
                        endDetached();
                    }
                    return;
                }
            }
            content.release();
            if (last) {
                state = DONE;
                cancelTimer();
                releaseUpstream(upstreamKeepAlive && requestComplete);
                if (handover) {
                    handBack();
                } else {
                    fill.onComplete();
                    fill.close();
                    endDetached();
                }
            }
            return;
        }
        if (fill != null) {
            fill.onContent(content.content());
        }
        responseBytes += content.content().readableBytes();
        if (!last) {
            writeHeldHead();
            clientCtx.write(content, clientCtx.voidPromise());
            return;
        }
        if (heldHead != null) {
            HttpResponse h = heldHead;
            heldHead = null;
            content = new DefaultFullHttpResponse(h.protocolVersion(), h.status(), content.content(), h.headers(),
                    ((LastHttpContent) content).trailingHeaders());
        }
        state = DONE;
        cancelTimer();
        if (fill != null) {
            fill.onComplete();
            fill.close();
        }
        ChannelFuture written = client.writeLast(clientCtx, content, clientKeepAlive);
        // Read as this last part came in (onUpstreamMessage).
        log.upstreamNanos = lastUpstreamReadNanos - upstreamStartNanos;
        releaseUpstream(upstreamKeepAlive && requestComplete);
        end(status, null);
        client.exchangeDone(clientKeepAlive, written);
    }

    @Override
    public void onUpstreamReadComplete(UpstreamStream connection) {
        if (state == DONE) {
            return;
        }
        writeHeldHead();
        if (detached || handover) {
            // Nobody to pace the reads by: the object's size limit bounds what is held.
            connection.channel().read();
            return;
        }
        clientCtx.flush();
        if (clientCtx.channel().isWritable()) {
            connection.channel().read();
        } else {
            upstreamPaused = true;
        }
    }

    @Override
    void onClientWritabilityChanged(boolean writable) {
        if (writable && upstreamPaused && upstream != null && state != DONE) {
            upstreamPaused = false;
            lastUpstreamReadNanos = ReadClock.nanoTime();
            upstream.channel().read();
        }
    }

    // ---- failures -------------------------------------------------------------------------------

    @Override
    public void onUpstreamClosed(UpstreamStream connection) {
        upstreamLost(connection, "upstream_closed");
    }

    /**
     * Whether the channel's TLS handshake had succeeded: then the request may have left, and a
     * TLS error afterwards is an error in the exchange, not a failed connect to retry elsewhere.
     */
    private static boolean handshakeDone(Channel channel) {
        for (Channel c = channel; c != null; c = c.parent()) {
            SslHandler ssl = c.pipeline().get(SslHandler.class);
            if (ssl != null) {
                return ssl.handshakeFuture().isSuccess();
            }
        }
        return false;
    }

    @Override
    public void onUpstreamError(UpstreamStream connection, Throwable cause) {
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (cause instanceof UpstreamFramingException framing) {
            // Ambiguous framing is the backend's fault, not a keep-alive race: never retried.
            if (state != DONE && connection == upstream) {
                upstreamFailed(HttpResponseStatus.BAD_GATEWAY, "upstream_bad_framing:" + framing.reason());
            }
            return;
        }
        if (root instanceof SSLException && connection == upstream && state == WAITING_HEAD && !responseStarted
                && !informational && !connection.reused() && !handshakeDone(connection.channel())) {
            // The request waits inside the SslHandler until the handshake ends, so none of it left:
            // count the failure against the backend and try another, as for a failed connect, unless
            // body parts were handed to the failed connection (they are gone with it).
            connection.abort();
            upstream = null;
            endBackend();
            backend.recordConnectFailure(System.nanoTime(), "TLS handshake failed");
            retryOrFail(!bodySent, HttpResponseStatus.BAD_GATEWAY, "upstream_tls_failed");
            return;
        }
        upstreamLost(connection, "upstream_reset");
    }

    private void upstreamLost(UpstreamStream connection, String reason) {
        if (state == DONE || connection != upstream) {
            return;
        }
        boolean reused = connection.reused();
        boolean unprocessed = connection.unprocessed();
        connection.abort();
        upstream = null;
        endBackend();
        if (responseStarted || informational) {
            abort(reason);
            return;
        }
        cancelHeaderTimer();
        if (unprocessed) {
            retryUnprocessed(reason);
            return;
        }
        upstreamWasReused = reused;
        if (!reused) {
            backend.recordFailure(System.nanoTime());
        }
        retryOrFail(false, HttpResponseStatus.BAD_GATEWAY, reason);
    }

    /**
     * The backend did not process the request (HTTP/2 REFUSED_STREAM or GOAWAY): nothing happened
     * there, so any method may go again, to the same backend on another connection, without spending
     * the retry budget — unless body parts went to the refused stream, which cannot be replayed.
     */
    private void retryUnprocessed(String reason) {
        lastFailureStatus = HttpResponseStatus.BAD_GATEWAY;
        lastFailure = reason;
        if (!bodySent && attempts < config.retry().attempts()) {
            freshConnection = !backend.isDown();
            state = WAITING_CONNECTION;
            tryBackend();
            return;
        }
        fail(HttpResponseStatus.BAD_GATEWAY, reason);
    }

    /** The upstream misbehaved before the response started: count it, close it, answer 502/504. */
    private void upstreamFailed(HttpResponseStatus status, String reason) {
        backend.recordFailure(System.nanoTime());
        if (upstream != null) {
            upstream.abort();
            upstream = null;
        }
        endBackend();
        fail(status, reason);
    }

    /** Answers the client with an error page, or cuts the response if it has started. */
    private void fail(HttpResponseStatus failStatus, String reason) {
        if (responseStarted && !handover) {
            abort(reason);
            return;
        }
        if (handover || (!detached && fill != null && fill.onOriginFailure())) {
            // The stored response stands in for the origin (stale-if-error, or the route's grace).
            handover = true;
            if (finish()) {
                log.error = reason;
                handBack();
            }
            return;
        }
        if (!finish()) {
            return;
        }
        if (detached) {
            endDetached();
            return;
        }
        boolean keepAlive = clientKeepAlive && requestComplete && client.connectionReusable();
        FullHttpResponse r = LocalResponses.error(clientCtx.alloc(), failStatus, log.requestId, head || headOnly);
        LocalResponses.markClose(r, keepAlive, http10);
        decorate(r);
        responseBytes = r.content().readableBytes();
        ChannelFuture written = clientCtx.writeAndFlush(r);
        end(failStatus.code(), reason);
        client.exchangeDone(keepAlive, written);
    }

    /** Ends the exchange mid-response: the client sees a cut response and a closed connection. */
    private void abort(String reason) {
        if (handover) {
            fail(HttpResponseStatus.BAD_GATEWAY, reason);
            return;
        }
        if (!finish()) {
            return;
        }
        if (detached) {
            endDetached();
            return;
        }
        // The head goes out before the connection closes, as it would have without waiting for its body.
        writeHeldHead();
        end(status == 0 ? 502 : status, reason);
        clientCtx.flush();
        clientCtx.close();
    }

    @Override
    void onClientFault(HttpResponseStatus faultStatus, String reason) {
        clientKeepAlive = false;
        fail(faultStatus, reason);
    }

    @Override
    void onClientClosed() {
        if (state == READING_BODY && fill != null && fill.storing() && !detached) {
            // Others may be reading the object this fetch fills: finish the fetch without the client.
            detached = true;
            end(499, "client_closed");
            if (upstreamPaused && upstream != null) {
                upstreamPaused = false;
                upstream.channel().read();
            }
            return;
        }
        if (!finish()) {
            return;
        }
        if (fill != null) {
            // Left while a 304 or a covered error was being read: nobody to hand the stored response to.
            fill.close();
            fill = null;
        }
        // 499 as nginx: the client closed the connection before the response was complete.
        end(499, "client_closed");
    }

    /**
     * Ends the exchange on an error path: timers off, held request parts released, the upstream
     * connection closed (never pooled), the backend's in-flight count given back.
     *
     * @return false when the exchange had already ended
     */
    private boolean finish() {
        if (state == DONE) {
            return false;
        }
        state = DONE;
        cancelTimer();
        releasePending();
        if (waitingForStream) {
            waitingForStream = false;
            group.http2Pool(backend).cancel(this);
        }
        if (upstream != null) {
            upstream.abort();
            upstream = null;
        }
        endBackend();
        if (fill != null && !handover) {
            fill.close();
        }
        return true;
    }

    /**
     * Gives the client back to the cache exchange that started this fetch, to be answered from the
     * stored response (freshened by a 304, or stale standing in for a failed origin).
     */
    private void handBack() {
        CacheFill f = fill;
        fill = null;
        endLifecycle();
        if (background || detached) {
            f.close();
            return;
        }
        cacheOwner.resumeFromStore(f);
    }

    /** The end of a fetch nobody waits for any more (its client, if any, was logged already). */
    private void endDetached() {
        endLifecycle();
    }

    /** This exchange no longer counts as in flight for a graceful shutdown; once. */
    private void endLifecycle() {
        if (!lifecycleEnded) {
            lifecycleEnded = true;
            client.context().lifecycle().requestEnded();
        }
    }

    private void releaseUpstream(boolean reusable) {
        UpstreamStream c = upstream;
        upstream = null;
        endBackend();
        if (c != null) {
            c.release(reusable && !sendsProxyHeader());
        }
    }

    private void endBackend() {
        if (backendCounted) {
            backendCounted = false;
            backend.requestEnded();
        }
    }

    private void releasePending() {
        if (pending != null) {
            HttpContent c;
            while ((c = pending.poll()) != null) {
                c.release();
            }
        }
    }

    private void end(int finalStatus, String error) {
        if (logged) {
            return;
        }
        logged = true;
        if (!detached) {
            // A detached fill stays in flight until its body is in; endDetached ends it.
            endLifecycle();
        }
        if (upgrade && !switched) {
            client.context().releaseWebSocket(client.remote() == null ? null : client.remote().getAddress());
        }
        if (log.upstreamNanos < 0 && upstreamStartNanos != 0) {
            log.upstreamNanos = ReadClock.nanoTime() - upstreamStartNanos;
        }
        if (log.upstreamNanos >= 0 && !switched) {
            group.group().metrics().responseTime(log.upstreamNanos);
        }
        finishLog(finalStatus, responseBytes, error);
    }

    // ---- timers ---------------------------------------------------------------------------------

    private void armHeaderTimer() {
        if (state == WAITING_HEAD && headerDeadline == 0) {
            headerDeadline = ReadClock.nanoTime() + config.responseHeaderTimeout().toNanos();
            armTimer(headerDeadline);
        }
    }

    private void cancelHeaderTimer() {
        headerDeadline = 0;
    }

    /**
     * Arranges for the deadlines to be checked by {@code deadline}: through the upstream
     * connection's watchdog when there is one (no scheduling per request), else with a timer of
     * this exchange's own (only while connecting with a total timeout).
     */
    private void armTimer(long deadline) {
        if (upstream != null) {
            upstream.watch(deadline);
            return;
        }
        if (timer != null && timerDeadline - deadline <= 0) {
            return;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerDeadline = deadline;
        timer = clientCtx.channel().eventLoop().schedule(this, Math.max(0, deadline - ReadClock.nanoTime()),
                TimeUnit.NANOSECONDS);
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** This exchange's own timer fired (total timeout while there is no upstream connection). */
    @Override
    public void run() {
        timer = null;
        long next = onDeadlineCheck(System.nanoTime());
        if (next != 0) {
            armTimer(next);
        }
    }

    /** Finds which deadline passed, if any, and returns the next one to check at (0 for none). */
    @Override
    public long onDeadlineCheck(long now) {
        if (state == DONE) {
            return 0;
        }
        if (totalDeadline != 0 && now - totalDeadline >= 0) {
            timeout("upstream_total_timeout");
            return 0;
        }
        long next = totalDeadline;
        if (sendBlockedSince != 0) {
            long sendDeadline = sendBlockedSince + config.sendTimeout().toNanos();
            if (now - sendDeadline >= 0) {
                timeout("upstream_send_timeout");
                return 0;
            }
            next = earliest(next, sendDeadline);
        }
        if (state == WAITING_HEAD && headerDeadline != 0) {
            if (now - headerDeadline >= 0) {
                timeout("upstream_response_header_timeout");
                return 0;
            }
            next = earliest(next, headerDeadline);
        } else if (state == READING_BODY) {
            long readDeadline = lastUpstreamReadNanos + config.readTimeout().toNanos();
            if (!upstreamPaused && now - readDeadline >= 0) {
                timeout("upstream_read_timeout");
                return 0;
            }
            next = earliest(next, upstreamPaused ? now + config.readTimeout().toNanos() : readDeadline);
        }
        return next;
    }

    private static long earliest(long a, long b) {
        return a == 0 ? b : b == 0 ? a : (a - b < 0 ? a : b);
    }

    private void timeout(String reason) {
        if (responseStarted) {
            abort(reason);
        } else {
            upstreamFailed(HttpResponseStatus.GATEWAY_TIMEOUT, reason);
        }
    }
}
