package io.portico.tls;

import io.netty.handler.ssl.SslProvider;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Options for connections to HTTPS upstreams. Null lists count as empty.
 *
 * @param provider          the engine, from {@link TlsProviders#select}
 * @param trust             trusted authorities; empty = the JDK's trust store (cacerts)
 * @param verify            check the upstream's certificate chain against {@code trust} and its host name
 *                          (endpoint identification "HTTPS"); false accepts any certificate, which lets
 *                          anyone on the path impersonate the upstream (as nginx's {@code proxy_ssl_verify off})
 * @param clientCertificate presented when the upstream asks for one; may be null
 * @param protocols         empty = TLSv1.3 and TLSv1.2
 * @param alpn              offered protocols, e.g. {@code h2}, {@code http/1.1}; empty = no ALPN
 */
public record ClientTlsOptions(
        SslProvider provider,
        List<X509Certificate> trust,
        boolean verify,
        KeyMaterial clientCertificate,
        List<String> protocols,
        List<String> alpn) {

    public ClientTlsOptions {
        trust = trust == null ? List.of() : List.copyOf(trust);
        protocols = protocols == null ? List.of() : List.copyOf(protocols);
        alpn = alpn == null ? List.of() : List.copyOf(alpn);
    }
}
