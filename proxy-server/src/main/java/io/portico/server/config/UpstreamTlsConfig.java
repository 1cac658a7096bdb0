package io.portico.server.config;

/**
 * TLS to the backends of an upstream group (HTTPS upstreams).
 *
 * @param enabled         speak TLS to the backends
 * @param verify          verify the backend's certificate chain and host name; false accepts any
 *                        certificate (insecure, with a warning; as nginx's proxy_ssl_verify off)
 * @param ca              PEM bundle of trusted CAs; empty uses the system trust store
 * @param sni             server name to send; empty sends the backend's host name (nothing for an IP)
 * @param clientCert      PEM client certificate for mTLS to the backend
 * @param clientKey       its key
 */
public record UpstreamTlsConfig(
        @Default("false") boolean enabled,
        @Default("true") boolean verify,
        @Nullable String ca,
        @Nullable String sni,
        @Nullable String clientCert,
        @Nullable String clientKey) {

    public UpstreamTlsConfig {
        if ((clientCert == null) != (clientKey == null)) {
            throw new InvalidConfigException(clientCert == null ? "client_cert" : "client_key",
                    "client_cert and client_key go together");
        }
    }
}
