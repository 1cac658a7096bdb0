package io.portico.server.config;

/**
 * TLS settings shared by every listener and upstream.
 *
 * @param provider  {@code auto} (OpenSSL through BoringSSL when it loads, else the JDK), {@code openssl} or {@code jdk}
 * @param devCertDir where the generated development certificate is kept
 * @param watchInterval how often certificate and key files are checked for changes (new
 *                      handshakes then use the new ones); 0s turns watching off (SIGHUP still reloads)
 * @param rsaSigner who makes the handshake signatures of RSA certificates with the openssl provider:
 *                  {@code auto} (the system's OpenSSL 3 libcrypto when it loads and the CPU has AVX-512
 *                  IFMA, else BoringSSL), {@code libcrypto} or {@code provider} (BoringSSL)
 * @param keyLogFile an NSS key log (SSLKEYLOGFILE format) that every TLS listener appends its secrets to,
 *                   for debugging with Wireshark; null = none. Only this turns key logging on: an
 *                   SSLKEYLOGFILE variable in Portico's environment is not used (it is warned about)
 */
public record TlsGlobalConfig(
        @Default("auto") String provider,
        @Default("conf/tls") String devCertDir,
        @Default("10s") java.time.Duration watchInterval,
        @Default("auto") String rsaSigner,
        @Nullable String keyLogFile) {

    public TlsGlobalConfig {
        if (!provider.equals("auto") && !provider.equals("openssl") && !provider.equals("jdk")) {
            throw new InvalidConfigException("provider", "must be auto, openssl or jdk, got '" + provider + "'");
        }
        if (!rsaSigner.equals("auto") && !rsaSigner.equals("libcrypto") && !rsaSigner.equals("provider")) {
            throw new InvalidConfigException("rsa_signer", "must be auto, libcrypto or provider, got '" + rsaSigner + "'");
        }
        if (keyLogFile != null && keyLogFile.isBlank()) {
            throw new InvalidConfigException("key_log_file", "cannot be empty; leave it out for no key log");
        }
        if (watchInterval.isNegative()) {
            throw new InvalidConfigException("watch_interval", "cannot be negative (0s turns watching off)");
        }
    }
}
