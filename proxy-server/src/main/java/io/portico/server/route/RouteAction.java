package io.portico.server.route;

/** What a route does with a request. */
public enum RouteAction {
    UPSTREAM, REDIRECT, RESPOND
}
