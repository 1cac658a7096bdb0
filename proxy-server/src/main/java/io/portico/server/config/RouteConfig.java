package io.portico.server.config;

import java.util.List;

/**
 * One route: what it matches and exactly one action (an upstream group, a redirect or a fixed
 * response).
 *
 * @param name             for logs; defaults to the match
 * @param match            path test
 * @param upstream         the upstream group to proxy to
 * @param redirect         answer with a redirect instead
 * @param respond          answer with a fixed response instead
 * @param maxBodySize      overrides the server's limit
 * @param requestHeaders   header edits on the request sent upstream
 * @param responseHeaders  header edits on the response sent to the client
 * @param websocket        WebSocket upgrades on this route
 * @param cache            the HTTP cache on this route
 * @param access           CIDR allow/deny rules for this route (403)
 * @param rateLimit        a token bucket per key for this route (429); absent means none
 * @param methods          methods this route accepts, others get 405; empty accepts the standard ones
 * @param allowUnknownMethods  pass methods outside RFC 9110 and PATCH (e.g. PROPFIND) upstream; otherwise 501
 */
public record RouteConfig(
        @Default("") String name,
        MatchConfig match,
        @Nullable String upstream,
        @Nullable RedirectConfig redirect,
        @Nullable FixedResponseConfig respond,
        @Nullable ByteSize maxBodySize,
        HeaderRulesConfig requestHeaders,
        HeaderRulesConfig responseHeaders,
        WebSocketRouteConfig websocket,
        CacheRouteConfig cache,

        AccessConfig access,
        @Nullable RateLimitConfig rateLimit,
        List<String> methods,
        @Default("false") boolean allowUnknownMethods) {

    public RouteConfig {
        int actions = (upstream != null ? 1 : 0) + (redirect != null ? 1 : 0) + (respond != null ? 1 : 0);
        if (actions != 1) {
            // Named by the second action present (the first is fine alone), or upstream when none is.
            String key = actions == 0 ? "upstream" : redirect != null && upstream != null ? "redirect" : "respond";
            throw new InvalidConfigException(key, "a route needs exactly one of upstream, redirect or respond");
        }
        if (cache.enabled() && upstream == null) {
            throw new InvalidConfigException("cache.enabled", "only routes with an upstream can cache");
        }
        methods = List.copyOf(methods);
        for (int i = 0; i < methods.size(); i++) {
            if (!isToken(methods.get(i))) {
                throw new InvalidConfigException("methods[" + i + "]", "not a method name: '" + methods.get(i) + "'");
            }
        }
        if (name == null || name.isEmpty()) {
            name = match.toString();
        }
    }

    /** An RFC 9110 token: what a method name is made of. */
    private static boolean isToken(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
