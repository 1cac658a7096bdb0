package io.portico.server.config;

/**
 * The built-in demo origin: a small HTTP server on loopback that the default config proxies to, so
 * Portico shows itself working with nothing else installed.
 *
 * @param enabled  start it
 * @param address  where it listens
 */
public record DemoOriginConfig(
        @Default("false") boolean enabled,
        @Default("127.0.0.1:8081") HostPort address) {
}
