package io.portico.server.config;

import java.util.List;

/**
 * One certificate (or an RSA and an ECDSA certificate) for a set of server names. Either
 * {@code cert} + {@code key} (PEM) or {@code pkcs12}; a second pair in {@code cert2}/{@code key2}
 * serves clients that prefer the other key type. The key password comes from a file or an
 * environment variable, never from this file.
 *
 * @param names         SNI names, exact or {@code *.suffix}; empty means the certificate's own names
 * @param cert          PEM certificate chain, leaf first
 * @param key           PEM private key (PKCS#1, PKCS#8, SEC1, or encrypted PKCS#8)
 * @param cert2         a second chain (e.g. ECDSA beside RSA) for the same names
 * @param key2          its key
 * @param pkcs12        a PKCS#12 file instead of PEM
 * @param passwordFile  a file whose first line is the key or PKCS#12 password
 * @param passwordEnv   an environment variable holding it
 */
public record TlsCertificateConfig(
        List<String> names,
        @Nullable String cert,
        @Nullable String key,
        @Nullable String cert2,
        @Nullable String key2,
        @Nullable String pkcs12,
        @Nullable String passwordFile,
        @Nullable String passwordEnv) {

    public TlsCertificateConfig {
        names = List.copyOf(names);
        boolean pem = cert != null || key != null;
        if (pem == (pkcs12 != null)) {
            throw new InvalidConfigException(pkcs12 != null ? "pkcs12" : "cert",
                    "give either cert and key (PEM) or pkcs12");
        }
        if (pem && (cert == null || key == null)) {
            throw new InvalidConfigException(cert == null ? "cert" : "key", "cert and key go together");
        }
        if ((cert2 == null) != (key2 == null)) {
            throw new InvalidConfigException(cert2 == null ? "cert2" : "key2", "cert2 and key2 go together");
        }
        if (passwordFile != null && passwordEnv != null) {
            throw new InvalidConfigException("password_env", "give password_file or password_env, not both");
        }
    }
}
