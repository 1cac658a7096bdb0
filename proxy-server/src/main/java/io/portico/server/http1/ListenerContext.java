package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.portico.http.CidrSet;
import io.portico.http.FramingGuard;
import io.portico.http.LastValue;
import io.portico.server.config.ForwardingConfig;
import io.portico.server.config.HttpListenerConfig;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.TlsListenerConfig;
import io.portico.server.http2.Http2Counters;
import io.portico.server.limits.AccessRules;
import io.portico.server.limits.BufferBudget;
import io.portico.server.limits.PerAddressCount;
import io.portico.server.limits.RateLimiter;
import io.portico.server.log.AccessLog;
import io.portico.server.metrics.ListenerMetrics;
import io.portico.server.route.Router;
import io.portico.server.listener.ListenerTls;
import io.portico.tls.ServerTls;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.net.InetAddress;

/**
 * Everything an HTTP connection on one listener needs, built once per config. A connection keeps
 * the context it was accepted with until it closes.
 */
public final class ListenerContext {

    /** The largest body part Netty's decoder hands on at once. */
    private static final int MAX_CHUNK = 64 * 1024;

    private final ListenerConfig config;
    private final Router router;
    private final ForwardingConfig forwarding;
    private final CidrSet trustedProxies;
    private final CidrSet proxyProtocolTrusted;
    private final AsciiString requestIdHeader;
    private final AccessLog accessLog;
    private final ServerLifecycle lifecycle;
    private final ListenerTls tls;
    /** Open WebSockets, shared with the listener's earlier and later contexts: the caps outlive a reload. */
    private final WebSocketCount webSockets;
    private final AsciiString clientSubjectHeader;
    private final AsciiString clientFingerprintHeader;
    private final ListenerMetrics metrics;
    /**
     * Open client connections and HTTP/3 streams accepted with this context: a reload retires the
     * context once they are all closed. The connections themselves are listed by {@link ServerLifecycle}.
     */
    private final AtomicInteger open = new AtomicInteger();
    /** This context's HTTP/3 streams, for {@link #drain()}: QUIC connections are not tracked one by one. */
    private final ChannelGroup streams = new DefaultChannelGroup("portico-h3-streams", GlobalEventExecutor.INSTANCE);
    private final Http2Counters http2Counters;
    private final AsciiString[] certificateFields;
    private final AccessRules access;
    private final BufferBudget bufferBudget;
    private final RateLimiter rateLimiter;
    private final HttpDecoderConfig http1Decoder;
    /** See {@link #addressText(InetAddress)}. */
    private final LastValue<InetAddress, String> addressText = new LastValue<>();
    private final ClientDeadlines.Limits clientLimits;
    /** Parked keep-alive connections, per event loop (see {@link KeepAliveWaiting}). */
    private final Map<EventExecutor, KeepAliveWaiting> waiting = new ConcurrentHashMap<>();
    /** {@code Alt-Svc} for the TCP side's answers once the listener's HTTP/3 socket is up; null until then. */
    private volatile AsciiString altSvc;
    /** Set once a reload has replaced this context: its connections serve no further request. */
    private volatile boolean retired;

    /** @param tls the listener's TLS, or null for plain HTTP */
    public ListenerContext(ListenerConfig config, Router router, ForwardingConfig forwarding, AccessLog accessLog,
                           ServerLifecycle lifecycle, ListenerTls tls, ListenerMetrics metrics, BufferBudget bufferBudget) {
        this(config, router, forwarding, accessLog, lifecycle, tls, metrics, bufferBudget, List.of(config), null);
    }

    /**
     * @param allListeners every listener of the configuration: the client-certificate fields any
     *                     TLS listener sets upstream are removed from requests on every listener,
     *                     plain ones included, since an origin behind both cannot tell them apart
     * @param previous     the same listener's context in the previous generation, or null: the
     *                     WebSockets it opened, still open after the reload, count against this
     *                     context's caps, and give their slots back to them when they close
     */
    public ListenerContext(ListenerConfig config, Router router, ForwardingConfig forwarding, AccessLog accessLog,
                           ServerLifecycle lifecycle, ListenerTls tls, ListenerMetrics metrics, BufferBudget bufferBudget,
                           List<ListenerConfig> allListeners, ListenerContext previous) {
        this.webSockets = previous != null ? previous.webSockets : new WebSocketCount();
        this.certificateFields = certificateFields(allListeners);
        this.metrics = metrics;
        this.http2Counters = metrics.http2();
        this.bufferBudget = bufferBudget;
        this.config = config;
        this.router = router;
        this.forwarding = forwarding;
        this.trustedProxies = CidrSet.parse(forwarding.trustedProxies());
        this.proxyProtocolTrusted = CidrSet.parse(config.proxyProtocol().trusted());
        this.requestIdHeader = AsciiString.cached(forwarding.requestIdHeader());
        this.accessLog = accessLog;
        this.lifecycle = lifecycle;
        this.tls = tls;
        this.access = AccessRules.of(config.limits().access());
        HttpListenerConfig http = config.http();
        // Behind the RequestFramingGuard (see Http1ServerInitializer).
        this.http1Decoder = FramingGuard.behindGuard(new HttpDecoderConfig()
                .setMaxInitialLineLength(http.maxRequestLine().intBytes())
                .setMaxHeaderSize(http.maxHeaderSize().intBytes())
                .setMaxChunkSize(MAX_CHUNK)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true));
        this.clientLimits = new ClientDeadlines.Limits(http);
        this.rateLimiter = RateLimiter.of(config.limits().rateLimit());
        this.clientSubjectHeader = config.tls() == null ? null : AsciiString.cached(config.tls().clientSubjectHeader());
        this.clientFingerprintHeader = config.tls() == null ? null
                : AsciiString.cached(config.tls().clientFingerprintHeader());
    }

    /**
     * Takes a WebSocket slot for {@code client} within the listener's caps.
     *
     * @return false when a cap is reached (nothing was taken)
     */
    boolean acquireWebSocket(InetAddress client) {
        int max = config.websocket().maxConnections();
        if (webSockets.total.incrementAndGet() > max && max > 0) {
            webSockets.total.decrementAndGet();
            return false;
        }
        if (client != null && !webSockets.byIp.acquire(client, config.websocket().maxPerClientIp())) {
            webSockets.total.decrementAndGet();
            return false;
        }
        return true;
    }

    /** Gives back a slot taken by {@link #acquireWebSocket}. */
    void releaseWebSocket(InetAddress client) {
        webSockets.total.decrementAndGet();
        if (client != null) {
            webSockets.byIp.release(client);
        }
    }

    /** Open WebSocket connections through this listener. */
    public int webSockets() {
        return webSockets.total.get();
    }

    /**
     * A listener's open WebSockets, in all and per client address. Addresses are counted whether
     * or not a per-address cap is set, so that a reload setting one finds the sockets already open.
     */
    private static final class WebSocketCount {
        final AtomicInteger total = new AtomicInteger();
        final PerAddressCount byIp = new PerAddressCount();
    }

    /** The TLS contexts new connections on this listener get (the newest after a reload), or null for plain HTTP. */
    public ServerTls tls() {
        return tls == null ? null : tls.current();
    }

    /** Header that carries a verified client certificate's subject upstream (TLS listeners). */
    public AsciiString clientSubjectHeader() {
        return clientSubjectHeader;
    }

    /** Header that carries a verified client certificate's SHA-256 fingerprint upstream (TLS listeners). */
    public AsciiString clientFingerprintHeader() {
        return clientFingerprintHeader;
    }

    /**
     * The request fields only Portico may set, from a verified client certificate: the defaults
     * and every TLS listener's configured names. Whatever a client sends in them is removed.
     */
    public AsciiString[] certificateFields() {
        return certificateFields;
    }

    private static AsciiString[] certificateFields(List<ListenerConfig> listeners) {
        Set<AsciiString> names = new LinkedHashSet<>();
        names.add(AsciiString.cached(TlsListenerConfig.DEFAULT_CLIENT_SUBJECT_HEADER));
        names.add(AsciiString.cached(TlsListenerConfig.DEFAULT_CLIENT_FINGERPRINT_HEADER));
        for (ListenerConfig l : listeners) {
            if (l.tls() != null) {
                names.add(AsciiString.cached(l.tls().clientSubjectHeader()));
                names.add(AsciiString.cached(l.tls().clientFingerprintHeader()));
            }
        }
        return names.toArray(new AsciiString[0]);
    }

    /** HTTP/2 connections, streams and the abuse that closed connections on this listener. */
    public Http2Counters http2Counters() {
        return http2Counters;
    }

    /** Whether h2 is offered in ALPN (TLS listeners). */
    boolean offersH2() {
        return tls != null && config.tls().alpn().contains("h2");
    }

    /** Whether cleartext HTTP/2 is accepted (plain listeners). */
    boolean acceptsH2c() {
        return tls == null && config.http2().h2c();
    }

    /** The process-wide buffer memory budget; its gate goes first in every client pipeline. */
    public BufferBudget bufferBudget() {
        return bufferBudget;
    }

    /** The listener's CIDR rules. */
    public AccessRules access() {
        return access;
    }

    /** The listener's rate limit, or null. */
    public RateLimiter rateLimiter() {
        return rateLimiter;
    }

    public String name() {
        return config.name();
    }

    public ListenerConfig config() {
        return config;
    }

    public Router router() {
        return router;
    }

    public ForwardingConfig forwarding() {
        return forwarding;
    }

    public CidrSet trustedProxies() {
        return trustedProxies;
    }

    /** Peers whose PROXY protocol header this listener accepts. */
    public CidrSet proxyProtocolTrusted() {
        return proxyProtocolTrusted;
    }

    public AsciiString requestIdHeader() {
        return requestIdHeader;
    }

    public AccessLog accessLog() {
        return accessLog;
    }

    public ServerLifecycle lifecycle() {
        return lifecycle;
    }

    /**
     * The HTTP/1.1 decoder settings of this listener's connections. One instance for all of them:
     * Netty's codec reads it when it is made, and a connection makes a new codec each time it comes
     * back from idle (see {@link KeepAliveWaiting}).
     */
    HttpDecoderConfig http1Decoder() {
        return http1Decoder;
    }

    /**
     * A client address as text (as nginx prints it: ::1 rather than 0:0:0:0:0:0:0:1). The last one
     * is kept, so that connections from one address (a load balancer, a NAT, a busy client) share
     * one string instead of holding a copy each and formatting it again.
     */
    String addressText(InetAddress address) {
        return addressText.get(address, NetUtil::toAddressString);
    }

    /** This context's parked connections on {@code loop} (one list per event loop, made at its first). */
    KeepAliveWaiting waiting(EventExecutor loop) {
        KeepAliveWaiting w = waiting.get(loop);
        return w != null ? w : waiting.computeIfAbsent(loop, l -> new KeepAliveWaiting(this, l));
    }

    /** The client-side timeouts of this listener's HTTP/1.1 connections, shared by all of them. */
    ClientDeadlines.Limits clientLimits() {
        return clientLimits;
    }

    /** An HTTP/3 stream of this context: it keeps its config generation open until it ends. */
    void streamOpened(Channel ch) {
        connectionCounted();
        streams.add(ch);
        ch.closeFuture().addListener(f -> connectionClosed());
    }

    void connectionCounted() {
        open.incrementAndGet();
    }

    void connectionClosed() {
        open.decrementAndGet();
    }

    /** Client connections (and HTTP/3 streams) accepted with this context that are still open. */
    public int openConnections() {
        return open.get();
    }

    /**
     * The listener was removed by a reload: its connections finish the request in progress and
     * close (idle ones close now), as at shutdown.
     */
    public void drain() {
        lifecycle.fire(this, ServerLifecycle.DRAIN);
        for (Channel ch : streams) {
            ch.pipeline().fireUserEventTriggered(ServerLifecycle.DRAIN);
        }
    }

    /**
     * A reload replaced this context: its keep-alive connections close after the response in
     * progress (idle ones now) and its HTTP/2 connections drain with GOAWAY, so clients reconnect
     * onto the new config and the old generation's pools and timers can close. WebSockets and
     * HTTP/3 streams carry on (a QUIC connection's next stream already gets the new context).
     */
    public void retire() {
        retired = true;
        lifecycle.fire(this, ServerLifecycle.RETIRE);
    }

    /** Whether a reload has replaced this context (see {@link #retire()}). */
    boolean retired() {
        return retired;
    }

    /** This listener's metrics (the same object across reloads). */
    public ListenerMetrics metrics() {
        return metrics;
    }

    /** The first handler of a new client connection: its traffic counter, buffer budget gate and place in the lifecycle. */
    ClientTrafficHandler newTrafficHandler() {
        return new ClientTrafficHandler(this);
    }

    /**
     * The listener serves HTTP/3 on UDP {@code port}: the TCP side's answers advertise it from now
     * on (unless {@code http3.alt_svc_max_age} is 0).
     */
    public void advertiseHttp3(int port) {
        long maxAge = config.http3().altSvcMaxAge();
        altSvc = maxAge > 0 ? AltSvcHandler.value(port, maxAge) : null;
    }

    /** The {@code Alt-Svc} value the TCP side's answers carry, or null. */
    AsciiString altSvc() {
        return altSvc;
    }

    public String scheme() {
        return tls == null ? "http" : "https";
    }
}
