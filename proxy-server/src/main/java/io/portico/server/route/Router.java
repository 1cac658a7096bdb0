package io.portico.server.route;

import io.portico.http.LastValue;
import io.portico.http.cache.HttpCache;
import io.portico.server.config.ServerConfig;
import io.portico.server.upstream.UpstreamGroup;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Picks the virtual server for a request on one listener: an exact name, else the longest
 * wildcard suffix ({@code *.example.com} matches {@code a.example.com} and {@code a.b.example.com}
 * but not {@code example.com}), else the default server (marked {@code default}, else the first).
 * Built once per listener per config; read-only afterwards.
 */
public final class Router {

    /** The normal form of the last Host header, see {@link #normalizeHost}. */
    private static final LastValue<String, String> HOST_FORM = new LastValue<>();

    private final Map<String, VirtualServer> exact;
    private final String[] wildcardSuffixes;
    private final VirtualServer[] wildcardServers;
    private final VirtualServer defaultServer;

    private Router(Map<String, VirtualServer> exact, List<Map.Entry<String, VirtualServer>> wildcards,
                   VirtualServer defaultServer) {
        this.exact = exact;
        this.wildcardSuffixes = wildcards.stream().map(Map.Entry::getKey).toArray(String[]::new);
        this.wildcardServers = wildcards.stream().map(Map.Entry::getValue).toArray(VirtualServer[]::new);
        this.defaultServer = defaultServer;
    }

    /**
     * @param servers all servers from config; those not bound to {@code listener} are left out
     * @param cache   the shared HTTP cache routes with {@code cache.enabled} use, or null
     * @return the router, or null when no server answers on this listener
     */
    public static Router build(List<ServerConfig> servers, String listener, Map<String, UpstreamGroup> groups,
                               HttpCache cache) {
        Map<String, VirtualServer> exact = new HashMap<>();
        List<Map.Entry<String, VirtualServer>> wildcards = new ArrayList<>();
        VirtualServer first = null;
        VirtualServer marked = null;
        for (ServerConfig sc : servers) {
            if (!sc.listeners().isEmpty() && !sc.listeners().contains(listener)) {
                continue;
            }
            Route[] routes = sc.routes().stream()
                    .map(rc -> new Route(sc, rc, rc.upstream() == null ? null : groups.get(rc.upstream()), cache))
                    .toArray(Route[]::new);
            String name = sc.names().isEmpty() ? (sc.defaultServer() ? "default" : "-") : sc.names().get(0);
            VirtualServer vs = new VirtualServer(name, routes);
            for (String n : sc.names()) {
                String host = n.toLowerCase(Locale.ROOT);
                if (host.startsWith("*.")) {
                    wildcards.add(Map.entry(host.substring(1), vs));
                } else {
                    exact.putIfAbsent(host, vs);
                }
            }
            if (first == null) {
                first = vs;
            }
            if (sc.defaultServer()) {
                marked = vs;
            }
        }
        if (first == null) {
            return null;
        }
        wildcards.sort(Comparator.comparingInt((Map.Entry<String, VirtualServer> e) -> e.getKey().length()).reversed());
        return new Router(Map.copyOf(exact), wildcards, marked != null ? marked : first);
    }

    /** @param host the request's host, lower case, without port */
    public VirtualServer select(String host) {
        if (host != null) {
            VirtualServer vs = exact.get(host);
            if (vs != null) {
                return vs;
            }
            for (int i = 0; i < wildcardSuffixes.length; i++) {
                if (host.endsWith(wildcardSuffixes[i])) {
                    return wildcardServers[i];
                }
            }
        }
        return defaultServer;
    }

    /**
     * The host part of a Host header or authority, lower-cased, without port or trailing dot;
     * null when it is not a valid host.
     */
    public static String normalizeHost(String authority) {
        if (authority == null) {
            return null;
        }
        // Requests mostly name the host of the request before them: its normal form is kept
        // rather than cut and lower-cased again.
        return HOST_FORM.get(authority, Router::normalize);
    }

    private static String normalize(String authority) {
        String h = authority.trim();
        if (h.isEmpty()) {
            return null;
        }
        if (h.charAt(0) == '[') {
            // An IP literal (RFC 3986 section 3.2.2): hex digits, colons and dots (an embedded
            // IPv4 address) inside, and nothing after it but a port.
            int end = h.indexOf(']');
            if (end < 2 || (end + 1 < h.length() && (h.charAt(end + 1) != ':' || !digits(h, end + 2)))) {
                return null;
            }
            for (int i = 1; i < end; i++) {
                char c = h.charAt(i);
                if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
                    return null;
                }
            }
            return h.substring(0, end + 1).toLowerCase(Locale.ROOT);
        }
        int colon = h.indexOf(':');
        if (colon >= 0) {
            if (!digits(h, colon + 1)) {
                return null;
            }
            h = h.substring(0, colon);
        }
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_';
            if (!ok) {
                return null;
            }
        }
        return h.isEmpty() ? null : h.toLowerCase(Locale.ROOT);
    }

    /** Whether {@code s} from {@code from} on is a port: decimal digits only (none is allowed). */
    private static boolean digits(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }
}
