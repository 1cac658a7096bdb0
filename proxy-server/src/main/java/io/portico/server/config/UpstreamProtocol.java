package io.portico.server.config;

/** The protocol Portico speaks to the backends of an upstream group. */
public enum UpstreamProtocol {
    /** HTTP/1.1 with a keep-alive pool per backend per event loop (one request per connection at a time). */
    HTTP1,
    /** HTTP/2 over TLS, negotiated by ALPN {@code h2}; streams multiplexed over a few connections. */
    H2,
    /** HTTP/2 over cleartext TCP with prior knowledge (RFC 9113 section 3.3). */
    H2C
}
