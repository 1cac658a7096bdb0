package io.portico.server.route;

/** A compiled virtual server: its routes in config order. */
public final class VirtualServer {

    private final String name;
    private final Route[] routes;

    VirtualServer(String name, Route[] routes) {
        this.name = name;
        this.routes = routes;
    }

    public String name() {
        return name;
    }

    /** The first route whose path test matches {@code path} (no query), or null. */
    public Route route(String path) {
        for (Route r : routes) {
            if (r.matches(path)) {
                return r;
            }
        }
        return null;
    }
}
