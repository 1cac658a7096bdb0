package io.portico.server.config;

import java.util.List;

/**
 * A virtual server, chosen by the request's Host: exact names first, then the longest matching
 * wildcard ({@code *.example.com}), then the default server (the one marked {@code default}, else
 * the first).
 *
 * @param names            host names, exact or {@code *.suffix}; empty matches nothing but can be default
 * @param defaultServer    the server for a Host no other server names (key {@code default})
 * @param listeners        listener names this server answers on; empty means all
 * @param maxBodySize      largest request body, 0 for no limit (nginx {@code client_max_body_size 1m})
 * @param routes           tried in order; the first that matches wins
 * @param requestHeaders   header edits on requests to upstreams, applied before the route's own
 * @param responseHeaders  header edits on responses to clients, applied before the route's own
 */
public record ServerConfig(
        List<String> names,
        @Default("false") @Key("default") boolean defaultServer,
        List<String> listeners,
        @Default("1m") ByteSize maxBodySize,
        List<RouteConfig> routes,
        HeaderRulesConfig requestHeaders,
        HeaderRulesConfig responseHeaders) {

    public ServerConfig {
        names = List.copyOf(names);
        listeners = List.copyOf(listeners);
        routes = List.copyOf(routes);
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            if (n.isEmpty() || (n.indexOf('*') >= 0 && !(n.startsWith("*.") && n.indexOf('*', 1) < 0))) {
                throw new InvalidConfigException("names[" + i + "]",
                        "a name is exact (api.example.com) or a leading wildcard (*.example.com), got '" + n + "'");
            }
        }
        if (routes.isEmpty()) {
            throw new InvalidConfigException("routes", "a server needs at least one route");
        }
    }
}
