/**
 * TLS for Portico's listeners and upstreams, on Netty with either BoringSSL (netty-tcnative) or the
 * JDK's SunJSSE: key material loading and checks ({@link io.portico.tls.KeyMaterial}), the
 * development certificate, Mozilla profiles, per-listener server contexts chosen by SNI and ECDSA
 * support ({@link io.portico.tls.ServerTls}), session ticket keys, OCSP stapling (from a file or
 * fetched and refreshed by {@link io.portico.tls.OcspFetcher}), NSS key logging,
 * and client contexts for HTTPS upstreams ({@link io.portico.tls.ClientTls}). Knows nothing of
 * listeners or config files; {@code proxy-server} wires it.
 */
package io.portico.tls;
