package io.portico.server.config;

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
        CacheRouteConfig cache) {

    public RouteConfig {
        int actions = (upstream != null ? 1 : 0) + (redirect != null ? 1 : 0) + (respond != null ? 1 : 0);
        if (actions != 1) {
            throw new InvalidConfigException(actions == 0 ? "upstream" : "redirect",
                    "a route needs exactly one of upstream, redirect or respond");
        }
        if (cache.enabled() && upstream == null) {
            throw new InvalidConfigException("cache.enabled", "only routes with an upstream can cache");
        }
        if (name == null || name.isEmpty()) {
            name = match.toString();
        }
    }
}
