/**
 * TLS for Portico's listeners and upstreams: certificate and key loading, SNI mapping, ALPN,
 * resumption and reload. Knows nothing of listeners or config files; {@code proxy-server} wires it.
 * Filled in by the TLS work (see the README's Status section).
 */
package io.portico.tls;
