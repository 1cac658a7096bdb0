package io.portico.tls;

import java.util.List;

/**
 * Mozilla's server-side TLS recommendations (https://ssl-config.mozilla.org, guidelines version 5.7)
 * as protocol and cipher suite lists. Cipher suites use IANA/Java names; Netty maps them to OpenSSL's.
 * Suites a provider lacks are dropped for that provider: BoringSSL has no finite-field DHE, so the
 * three {@code TLS_DHE_RSA_*} suites of the intermediate profile are JDK-only. Neither provider lets
 * TLS 1.3 suites be narrowed in practice (BoringSSL always enables its three), so the TLS 1.3 names
 * are listed for the JDK and for documentation.
 */
public enum TlsProfile {

    /** TLS 1.2 and 1.3, forward-secret AEAD suites only; the general-purpose default. */
    INTERMEDIATE(List.of("TLSv1.3", "TLSv1.2"), List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256")),

    /** TLS 1.3 only. */
    MODERN(List.of("TLSv1.3"), List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256"));

    private final List<String> protocols;
    private final List<String> ciphers;

    TlsProfile(List<String> protocols, List<String> ciphers) {
        this.protocols = protocols;
        this.ciphers = ciphers;
    }

    /** Protocol names as Java spells them, newest first. */
    public List<String> protocols() {
        return protocols;
    }

    /** Cipher suites in preference order, TLS 1.3 suites first. */
    public List<String> ciphers() {
        return ciphers;
    }

    /** The key exchange groups both profiles recommend, in order. */
    public List<String> curves() {
        return List.of("X25519", "P-256", "P-384");
    }
}
