package io.portico.server.route;

import io.portico.http.cache.HttpCache;
import io.portico.server.cache.RouteCache;
import io.portico.server.config.FixedResponseConfig;
import io.portico.server.config.MatchConfig;
import io.portico.server.config.RedirectConfig;
import io.portico.server.config.RouteConfig;
import io.portico.server.config.ServerConfig;
import io.portico.server.config.WebSocketRouteConfig;
import io.portico.server.upstream.UpstreamGroup;
import io.portico.websocket.RelayLimits;
import io.portico.websocket.WebSocketRelay;

import io.portico.server.limits.AccessRules;
import io.portico.server.limits.RateLimiter;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A compiled route: its path test, its action, its limits and header edits (server's merged in). */
public final class Route {

    private final String name;
    private final String exact;
    private final String prefix;
    private final Pattern regex;
    /**
     * One matcher per thread (an event loop, in practice), reset for each path: a new Matcher per
     * request cost 400-600 bytes per regex route tried (RouteBenchmark). A plain ThreadLocal, so a
     * route dropped by a reload takes its matchers with it.
     */
    private final ThreadLocal<Matcher> matchers;
    private final RouteAction action;
    private final UpstreamGroup upstream;
    private final RedirectConfig redirect;
    private final RedirectTemplate redirectTemplate;
    private final FixedResponseConfig respond;
    private final long maxBodySize;
    private final HeaderRules requestHeaders;
    private final String originHost;
    private final String originHostNormal;
    private final HeaderRules responseHeaders;
    private final WebSocketRouteConfig websocket;
    private final RelayLimits relayLimits;
    private final RouteCache cache;
    private final AccessRules access;
    private final RateLimiter rateLimiter;
    private final Set<String> methods;
    private final boolean allowUnknownMethods;

    Route(ServerConfig server, RouteConfig config, UpstreamGroup upstream, HttpCache httpCache) {
        MatchConfig m = config.match();
        this.name = config.name();
        this.exact = m.path();
        this.prefix = m.prefix();
        this.regex = m.regex() == null ? null : Pattern.compile(m.regex());
        this.matchers = regex == null ? null : ThreadLocal.withInitial(() -> regex.matcher(""));
        this.upstream = upstream;
        this.redirect = config.redirect();
        this.redirectTemplate = redirect == null ? null : RedirectTemplate.parse(redirect.location());
        this.respond = config.respond();
        this.action = upstream != null ? RouteAction.UPSTREAM : redirect != null ? RouteAction.REDIRECT : RouteAction.RESPOND;
        this.maxBodySize = (config.maxBodySize() != null ? config.maxBodySize() : server.maxBodySize()).bytes();
        this.requestHeaders = HeaderRules.of(server.requestHeaders(), config.requestHeaders());
        // Once per route: normalizing per request would push the client's Host out of the
        // normalizer's one-entry memo on every request.
        this.originHost = requestHeaders.setValue(io.netty.handler.codec.http.HttpHeaderNames.HOST);
        this.originHostNormal = originHost == null ? null : Router.normalizeHost(originHost);
        this.responseHeaders = HeaderRules.of(server.responseHeaders(), config.responseHeaders());
        this.websocket = config.websocket();
        this.relayLimits = new RelayLimits(websocket.maxFrameSize().intBytes(), websocket.maxMessageSize().intBytes(),
                websocket.validateUtf8(), websocket.idleTimeout(), websocket.pingInterval(), websocket.pongTimeout());
        this.cache = RouteCache.of(config.cache(), httpCache);
        this.access = AccessRules.of(config.access());
        this.rateLimiter = RateLimiter.of(config.rateLimit());
        this.methods = new LinkedHashSet<>(config.methods());
        this.allowUnknownMethods = config.allowUnknownMethods();
    }

    /** The HTTP cache on this route, or null when it does not cache. */
    public RouteCache cache() {
        return cache;
    }

    /** CIDR rules of this route. */
    public AccessRules access() {
        return access;
    }

    /** This route's rate limit, or null. */
    public RateLimiter rateLimiter() {
        return rateLimiter;
    }

    /** Methods this route accepts, in config order; empty accepts the standard ones. */
    public Set<String> methods() {
        return methods;
    }

    /** Whether methods outside the standard ones go upstream (when {@link #methods()} is empty). */
    public boolean allowUnknownMethods() {
        return allowUnknownMethods;
    }

    /** WebSocket settings of this route. */
    public WebSocketRouteConfig websocket() {
        return websocket;
    }

    /** The relay's limits, built once. */
    public RelayLimits relayLimits() {
        return relayLimits;
    }

    /** The relay mode for upgraded connections. */
    public WebSocketRelay.Mode relayMode() {
        return websocket.mode().equals("raw") ? WebSocketRelay.Mode.RAW : WebSocketRelay.Mode.FRAMES;
    }

    public boolean matches(String path) {
        if (prefix != null) {
            return path.startsWith(prefix);
        }
        if (exact != null) {
            return path.equals(exact);
        }
        Matcher matcher = matchers.get().reset(path);
        boolean found = matcher.find();
        matcher.reset("");
        return found;
    }

    /** The regex match for redirect templates, or null for non-regex routes. */
    public Matcher regexMatch(String path) {
        if (regex == null) {
            return null;
        }
        Matcher matcher = regex.matcher(path);
        return matcher.find() ? matcher : null;
    }

    public String name() {
        return name;
    }

    public RouteAction action() {
        return action;
    }

    public UpstreamGroup upstream() {
        return upstream;
    }

    public int redirectStatus() {
        return redirect.status();
    }

    public RedirectTemplate redirectTemplate() {
        return redirectTemplate;
    }

    public FixedResponseConfig respond() {
        return respond;
    }

    /** Largest request body in bytes, 0 for no limit. */
    public long maxBodySize() {
        return maxBodySize;
    }

    /**
     * The Host this route's request_headers set for its origin (a CDN cache tier naming the
     * origin's host), or null when the origin gets the client's.
     */
    public String originHost() {
        return originHost;
    }

    /** {@link #originHost()} in {@link Router#normalizeHost}'s form, or null (none set, or not a host). */
    public String originHostNormal() {
        return originHostNormal;
    }

    public HeaderRules requestHeaders() {
        return requestHeaders;
    }

    public HeaderRules responseHeaders() {
        return responseHeaders;
    }
}
