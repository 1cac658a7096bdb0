package io.portico.server.config;

import java.time.Duration;
import java.util.List;

/**
 * TLS on a listener. With no certificate configured, a self-signed development certificate for
 * localhost is generated under {@code conf/tls/} (and Portico says so loudly at startup).
 *
 * @param certificates       certificates by server name; the first is the default for unknown names
 * @param unknownSni         {@code default} (serve the first certificate) or {@code reject} (fail the handshake)
 * @param profile            Mozilla profile: {@code intermediate} (TLS 1.2+1.3) or {@code modern} (TLS 1.3)
 * @param protocols          overrides the profile's protocols, e.g. [TLSv1.3]
 * @param ciphers            overrides the profile's cipher suites
 * @param curves             key exchange groups, e.g. [X25519, prime256v1]; empty for the provider's
 * @param alpn               protocols offered in ALPN, in order of preference; empty = [h2, http/1.1]
 *                           when the listener's http2.enabled, else [http/1.1]
 * @param sessionCacheSize   sessions kept for resumption by session id
 * @param sessionTimeout     how long a session can be resumed, by id or ticket, TLS 1.2 and 1.3 alike
 *                           (nginx ssl_session_timeout 5m): with the OpenSSL provider counted from the
 *                           full handshake (resuming does not extend it), with the JDK's from the latest
 *                           resumption; not over HTTP/3, where BoringSSL's TLS 1.3 lifetime (2 days,
 *                           renewable up to 7) applies because Netty's QUIC cannot set it
 * @param sessionTickets     stateless resumption with session tickets
 * @param ticketKeyFile      shared ticket keys (as nginx ssl_session_ticket_key), so instances resume each other's sessions
 * @param ticketRotation     how often generated ticket keys rotate (when no key file is given)
 * @param clientAuth         {@code none}, {@code optional} or {@code require} a client certificate
 * @param clientCa           PEM bundle of CAs that client certificates must chain to
 * @param clientSubjectHeader     request header carrying a verified client certificate's subject to upstreams
 * @param clientFingerprintHeader request header carrying its SHA-256 fingerprint
 * @param ocspResponseFile   DER OCSP response to staple (OpenSSL provider)
 * @param ocspFetch          fetch the OCSP response from the responder named in the certificate and
 *                           keep it fresh (OpenSSL provider)
 * @param handshakeTimeout   a client that has not finished its handshake by then is dropped; with
 *                           HTTP/3 on, QUIC handshakes too (closed, counted as handshake_timeout)
 */
public record TlsListenerConfig(
        List<TlsCertificateConfig> certificates,
        @Default("default") String unknownSni,
        @Default("intermediate") String profile,
        List<String> protocols,
        List<String> ciphers,
        List<String> curves,
        List<String> alpn,
        @Default("20480") int sessionCacheSize,
        @Default("5m") Duration sessionTimeout,
        @Default("true") boolean sessionTickets,
        @Nullable String ticketKeyFile,
        @Default("1h") Duration ticketRotation,
        @Default("none") String clientAuth,
        @Nullable String clientCa,
        @Default(TlsListenerConfig.DEFAULT_CLIENT_SUBJECT_HEADER) String clientSubjectHeader,
        @Default(TlsListenerConfig.DEFAULT_CLIENT_FINGERPRINT_HEADER) String clientFingerprintHeader,
        @Nullable String ocspResponseFile,
        @Default("false") boolean ocspFetch,
        @Default("10s") Duration handshakeTimeout) {

    /** The request field that carries a verified client certificate's subject, by default. */
    public static final String DEFAULT_CLIENT_SUBJECT_HEADER = "X-Client-Subject";
    /** The request field that carries its SHA-256 fingerprint, by default. */
    public static final String DEFAULT_CLIENT_FINGERPRINT_HEADER = "X-Client-Fingerprint";

    public TlsListenerConfig {
        certificates = List.copyOf(certificates);
        protocols = List.copyOf(protocols);
        ciphers = List.copyOf(ciphers);
        curves = List.copyOf(curves);
        alpn = List.copyOf(alpn);
        if (!unknownSni.equals("default") && !unknownSni.equals("reject")) {
            throw new InvalidConfigException("unknown_sni", "must be default or reject, got '" + unknownSni + "'");
        }
        if (!profile.equals("intermediate") && !profile.equals("modern")) {
            throw new InvalidConfigException("profile", "must be intermediate or modern, got '" + profile + "'");
        }
        for (String p : protocols) {
            if (!p.equals("TLSv1.2") && !p.equals("TLSv1.3")) {
                throw new InvalidConfigException("protocols", "only TLSv1.2 and TLSv1.3 are allowed, got '" + p + "'");
            }
        }
        for (String a : alpn) {
            if (!a.equals("http/1.1") && !a.equals("h2")) {
                throw new InvalidConfigException("alpn", "supported: h2 and http/1.1, got '" + a + "'");
            }
        }
        if (sessionCacheSize < 0) {
            throw new InvalidConfigException("session_cache_size", "cannot be negative");
        }
        if (sessionTimeout.isNegative() || ticketRotation.isNegative() || ticketRotation.isZero()) {
            throw new InvalidConfigException(sessionTimeout.isNegative() ? "session_timeout" : "ticket_rotation",
                    "must be positive");
        }
        if (!clientAuth.equals("none") && !clientAuth.equals("optional") && !clientAuth.equals("require")) {
            throw new InvalidConfigException("client_auth", "must be none, optional or require, got '" + clientAuth + "'");
        }
        if (!clientAuth.equals("none") && clientCa == null) {
            throw new InvalidConfigException("client_ca", "client_auth " + clientAuth + " needs a client_ca bundle");
        }
        if (ocspFetch && ocspResponseFile != null) {
            throw new InvalidConfigException("ocsp_fetch", "give ocsp_response_file or ocsp_fetch, not both");
        }
        HeaderRulesConfig.checkName("client_subject_header", clientSubjectHeader);
        HeaderRulesConfig.checkName("client_fingerprint_header", clientFingerprintHeader);
        if (handshakeTimeout.isZero() || handshakeTimeout.isNegative()) {
            throw new InvalidConfigException("handshake_timeout", "must be positive");
        }
    }

    /** This config with another ALPN list. */
    public TlsListenerConfig withAlpn(List<String> protocols) {
        return new TlsListenerConfig(certificates, unknownSni, profile, this.protocols, ciphers, curves, protocols,
                sessionCacheSize, sessionTimeout, sessionTickets, ticketKeyFile, ticketRotation, clientAuth, clientCa,
                clientSubjectHeader, clientFingerprintHeader, ocspResponseFile, ocspFetch, handshakeTimeout);
    }
}
