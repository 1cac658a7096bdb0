package io.portico.server.l4;

import io.portico.server.upstream.UpstreamGroup;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Picks an upstream group by TLS server name as nginx's {@code map $ssl_preread_server_name}:
 * the exact name, then the longest matching {@code *.suffix} wildcard, then the default.
 */
final class SniRouter {

    private final Map<String, UpstreamGroup> exact = new HashMap<>();
    private final Map<String, UpstreamGroup> wildcard = new HashMap<>();
    private final UpstreamGroup fallback;

    /** @param fallback the group for no SNI or a name no route lists; may be null (such connections are closed) */
    SniRouter(Map<String, UpstreamGroup> routes, UpstreamGroup fallback) {
        routes.forEach((name, group) -> {
            String n = name.toLowerCase(Locale.ROOT);
            if (n.startsWith("*.")) {
                wildcard.put(n.substring(1), group);
            } else {
                exact.put(n, group);
            }
        });
        this.fallback = fallback;
    }

    UpstreamGroup route(String serverName) {
        if (serverName == null) {
            return fallback;
        }
        String name = serverName.toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        UpstreamGroup g = exact.get(name);
        if (g != null) {
            return g;
        }
        // Longest suffix first: a.b.example.com tries .b.example.com, then .example.com, then .com.
        for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
            g = wildcard.get(name.substring(dot));
            if (g != null) {
                return g;
            }
        }
        return fallback;
    }
}
