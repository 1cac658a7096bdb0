package io.portico.server.config;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole running configuration, immutable. Built by {@link ConfigLoader} from
 * {@code conf/portico.yaml}; a reload builds a new one and swaps it in whole.
 *
 * @param transport       io_uring, epoll, nio or auto (the first that works on this kernel)
 * @param workers         event loops; 0 means one per core
 * @param listeners       where clients connect
 * @param upstreams       upstream groups by name
 * @param servers         virtual servers, matched on Host
 * @param forwarding      what Portico tells upstreams about the client
 * @param resolver        the DNS resolver for upstream host names
 * @param tls             TLS provider and the development certificate's folder
 * @param accessLog       the access log
 * @param demoOrigin      the built-in demo origin on loopback
 * @param admin           the admin listener (metrics, status, reload, dashboard)
 * @param cache           the shared HTTP cache (routes turn it on)
 * @param shutdownTimeout how long SIGTERM waits for in-flight requests before exiting
 * @param limits          process-wide connection cap and buffer memory budget
 */
public record PorticoConfig(
        @Default("auto") TransportKind transport,
        @Default("0") int workers,
        List<ListenerConfig> listeners,
        Map<String, UpstreamConfig> upstreams,
        List<ServerConfig> servers,
        ForwardingConfig forwarding,
        TlsGlobalConfig tls,
        ResolverConfig resolver,
        AccessLogConfig accessLog,
        DemoOriginConfig demoOrigin,
        AdminConfig admin,
        CacheConfig cache,
        @Default("30s") Duration shutdownTimeout,
        GlobalLimitsConfig limits) {

    public PorticoConfig {
        listeners = List.copyOf(listeners);
        upstreams = Map.copyOf(upstreams);
        servers = List.copyOf(servers);
        if (workers < 0) {
            throw new InvalidConfigException("workers", "must be 0 (one per core) or more, got " + workers);
        }
        if (listeners.isEmpty()) {
            throw new InvalidConfigException("listeners", "at least one listener is needed");
        }
        Set<String> listenerNames = new HashSet<>();
        for (int i = 0; i < listeners.size(); i++) {
            if (!listenerNames.add(listeners.get(i).name())) {
                throw new InvalidConfigException("listeners[" + i + "].name",
                        "two listeners are called '" + listeners.get(i).name() + "'");
            }
        }
        int defaults = 0;
        for (int s = 0; s < servers.size(); s++) {
            ServerConfig server = servers.get(s);
            if (server.defaultServer()) {
                defaults++;
                if (defaults > 1) {
                    throw new InvalidConfigException("servers[" + s + "].default", "only one server can be the default");
                }
            }
            for (int l = 0; l < server.listeners().size(); l++) {
                if (!listenerNames.contains(server.listeners().get(l))) {
                    throw new InvalidConfigException("servers[" + s + "].listeners[" + l + "]",
                            "no listener is called '" + server.listeners().get(l) + "'; listeners are " + listenerNames);
                }
            }
            for (int r = 0; r < server.routes().size(); r++) {
                String upstream = server.routes().get(r).upstream();
                if (upstream != null && !upstreams.containsKey(upstream)) {
                    throw new InvalidConfigException("servers[" + s + "].routes[" + r + "].upstream",
                            "no upstream group is called '" + upstream + "'; groups are " + upstreams.keySet());
                }
            }
        }
        for (int i = 0; i < listeners.size(); i++) {
            ListenerConfig l = listeners.get(i);
            if (l.protocol() == ListenerProtocol.HTTP) {
                continue;
            }
            if (l.upstream() != null && !upstreams.containsKey(l.upstream())) {
                throw new InvalidConfigException("listeners[" + i + "].upstream",
                        "no upstream group is called '" + l.upstream() + "'; groups are " + upstreams.keySet());
            }
            for (Map.Entry<String, String> route : l.stream().sniRoutes().entrySet()) {
                if (!upstreams.containsKey(route.getValue())) {
                    throw new InvalidConfigException("listeners[" + i + "].stream.sni_routes." + route.getKey(),
                            "no upstream group is called '" + route.getValue() + "'; groups are " + upstreams.keySet());
                }
            }
        }
        for (int i = 0; i < listeners.size(); i++) {
            String name = listeners.get(i).name();
            if (listeners.get(i).protocol() != ListenerProtocol.HTTP) {
                // A stream listener relays to its upstream group; no server answers on it.
                continue;
            }
            boolean served = servers.stream().anyMatch(sc -> sc.listeners().isEmpty() || sc.listeners().contains(name));
            if (!served) {
                throw new InvalidConfigException("listeners[" + i + "].name",
                        "no server answers on listener '" + name + "'; add it to a server's listeners or leave those empty");
            }
        }
        if (shutdownTimeout.isNegative()) {
            throw new InvalidConfigException("shutdown_timeout", "cannot be negative");
        }
    }

    /** Event loops to start: {@link #workers()} or the number of cores. */
    public int effectiveWorkers() {
        return workers == 0 ? Runtime.getRuntime().availableProcessors() : workers;
    }

    /**
     * What is allowed but cannot work as written, for the startup report and a reload's notes (as
     * nginx warns "conflicting server name ... ignored"): a server name another server on one of
     * its listeners claims too (routing picks one in silence), CONNECT in a route's methods
     * (it is answered 501 before routing).
     */
    public List<String> lint() {
        List<String> notes = new java.util.ArrayList<>();
        java.util.Map<String, List<Integer>> nameOwners = new java.util.HashMap<>();
        for (int s = 0; s < servers.size(); s++) {
            ServerConfig server = servers.get(s);
            java.util.Set<String> own = new java.util.HashSet<>();
            for (int n = 0; n < server.names().size(); n++) {
                String name = server.names().get(n).toLowerCase(java.util.Locale.ROOT);
                name = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
                if (!own.add(name)) {
                    continue;
                }
                List<Integer> owners = nameOwners.computeIfAbsent(name, k -> new java.util.ArrayList<>());
                for (int other : owners) {
                    if (shareListener(servers.get(other), server)) {
                        notes.add("servers[" + s + "].names[" + n + "]: '" + server.names().get(n)
                                + "' is also a name of servers[" + other + "] on the same listener; requests for it"
                                + " go to one of them");
                        break;
                    }
                }
                owners.add(s);
            }
            for (int r = 0; r < server.routes().size(); r++) {
                List<String> methods = server.routes().get(r).methods();
                for (int m = 0; m < methods.size(); m++) {
                    if (methods.get(m).equals("CONNECT")) {
                        notes.add("servers[" + s + "].routes[" + r + "].methods[" + m + "]: CONNECT is never proxied"
                                + " (Portico answers it 501)");
                    }
                }
            }
        }
        return notes;
    }

    /** Whether two servers answer on a listener in common (no listeners named: all of them). */
    private static boolean shareListener(ServerConfig a, ServerConfig b) {
        if (a.listeners().isEmpty() || b.listeners().isEmpty()) {
            return true;
        }
        for (String l : a.listeners()) {
            if (b.listeners().contains(l)) {
                return true;
            }
        }
        return false;
    }
}
