package io.portico.server.http1;

import io.netty.util.AsciiString;
import io.portico.http.CidrSet;
import io.portico.server.config.ForwardingConfig;
import io.portico.server.config.ListenerConfig;
import io.portico.server.log.AccessLog;
import io.portico.server.route.Router;

/**
 * Everything an HTTP connection on one listener needs, built once per config. A connection keeps
 * the context it was accepted with until it closes.
 */
public final class ListenerContext {

    private final ListenerConfig config;
    private final Router router;
    private final ForwardingConfig forwarding;
    private final CidrSet trustedProxies;
    private final AsciiString requestIdHeader;
    private final AccessLog accessLog;
    private final ServerLifecycle lifecycle;

    public ListenerContext(ListenerConfig config, Router router, ForwardingConfig forwarding, AccessLog accessLog,
                           ServerLifecycle lifecycle) {
        this.config = config;
        this.router = router;
        this.forwarding = forwarding;
        this.trustedProxies = CidrSet.parse(forwarding.trustedProxies());
        this.requestIdHeader = AsciiString.cached(forwarding.requestIdHeader());
        this.accessLog = accessLog;
        this.lifecycle = lifecycle;
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

    public AsciiString requestIdHeader() {
        return requestIdHeader;
    }

    public AccessLog accessLog() {
        return accessLog;
    }

    public ServerLifecycle lifecycle() {
        return lifecycle;
    }

    public String scheme() {
        return "http";
    }
}
