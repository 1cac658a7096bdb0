package io.portico.server.config;

/**
 * TLS settings shared by every listener and upstream.
 *
 * @param provider  {@code auto} (OpenSSL through BoringSSL when it loads, else the JDK), {@code openssl} or {@code jdk}
 * @param devCertDir where the generated development certificate is kept
 */
public record TlsGlobalConfig(
        @Default("auto") String provider,
        @Default("conf/tls") String devCertDir) {

    public TlsGlobalConfig {
        if (!provider.equals("auto") && !provider.equals("openssl") && !provider.equals("jdk")) {
            throw new InvalidConfigException("provider", "must be auto, openssl or jdk, got '" + provider + "'");
        }
    }
}
