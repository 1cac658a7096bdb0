package io.portico.server.config;

/** The PROXY protocol header Portico sends first on each connection to an upstream group's backends. */
public enum ProxyProtocolVersion {
    /** None (the default). */
    OFF,
    /** Text header, {@code PROXY TCP4 ...\r\n} (HAProxy {@code send-proxy}, nginx {@code proxy_protocol on}). */
    V1,
    /** Binary header (HAProxy {@code send-proxy-v2}); nginx cannot send it. */
    V2
}
