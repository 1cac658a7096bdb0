package io.portico.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslProvider;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * Options for the server side of one listener. Null lists count as empty, a null profile as
 * {@link TlsProfile#INTERMEDIATE}, a null client auth as {@link ClientAuth#NONE}.
 *
 * @param provider           the engine, from {@link TlsProviders#select}
 * @param certificates       per server name; the first is the default unless {@code defaultCertificate} is given
 * @param defaultCertificate for clients that send no name (and unknown names, unless rejected); may be null
 * @param rejectUnknownNames a name that no certificate covers fails the handshake with an
 *                           {@code unrecognized_name} alert instead of getting the default certificate;
 *                           clients that send no name at all still get the default
 * @param profile            Mozilla profile giving the protocols and ciphers that are not set explicitly
 * @param protocols          e.g. {@code TLSv1.3}; empty = the profile's
 * @param ciphers            IANA/Java names; empty = the profile's
 * @param curves             key exchange groups, e.g. {@code X25519}, {@code P-256}; empty = provider default.
 *                           OpenSSL only: the JDK on Java 17 takes them from {@code -Djdk.tls.namedGroups}
 * @param alpn               e.g. {@code h2}, {@code http/1.1}, in server preference order; empty = no ALPN
 * @param sessionCacheSize   server session cache entries; 0 or less = provider default
 * @param sessionTimeout     session (and ticket) lifetime, TLS 1.3 included; with OpenSSL counted from the full
 *                           handshake (see {@link ServerTls}); null or zero = provider default
 * @param ticketKeys         session ticket keys (see {@link TicketKeys}); null = provider default, which with
 *                           OpenSSL means TLS 1.3 tickets under a key of each context's own (lost on reload)
 *                           and no TLS 1.2 tickets (TLS 1.2 resumes from the session-ID cache)
 * @param clientAuth         NONE, OPTIONAL or REQUIRE
 * @param clientCa           authorities for client certificates; needed unless clientAuth is NONE
 * @param ocspStapling       staple OCSP responses set through {@link ServerTls#ocspStapler()} (OpenSSL only)
 * @param keyLogFile         NSS key log (SSLKEYLOGFILE format) to append to, for debugging; made owner-only
 *                           (see {@link ServerTls#warnings()}); null = off
 * @param libcryptoRsa       RSA certificates sign through the system OpenSSL ({@link LibcryptoSigner}); OpenSSL
 *                           provider only, see {@link LibcryptoSigner#decide}
 */
public record ServerTlsOptions(
        SslProvider provider,
        List<SniCertificate> certificates,
        SniCertificate defaultCertificate,
        boolean rejectUnknownNames,
        TlsProfile profile,
        List<String> protocols,
        List<String> ciphers,
        List<String> curves,
        List<String> alpn,
        int sessionCacheSize,
        Duration sessionTimeout,
        TicketKeys ticketKeys,
        ClientAuth clientAuth,
        List<X509Certificate> clientCa,
        boolean ocspStapling,
        Path keyLogFile,
        boolean libcryptoRsa) {

    public ServerTlsOptions {
        certificates = certificates == null ? List.of() : List.copyOf(certificates);
        profile = profile == null ? TlsProfile.INTERMEDIATE : profile;
        protocols = protocols == null ? List.of() : List.copyOf(protocols);
        ciphers = ciphers == null ? List.of() : List.copyOf(ciphers);
        curves = curves == null ? List.of() : List.copyOf(curves);
        alpn = alpn == null ? List.of() : List.copyOf(alpn);
        clientAuth = clientAuth == null ? ClientAuth.NONE : clientAuth;
        clientCa = clientCa == null ? List.of() : List.copyOf(clientCa);
    }

    /** Options whose RSA certificates sign through the TLS provider itself. */
    public ServerTlsOptions(SslProvider provider, List<SniCertificate> certificates, SniCertificate defaultCertificate,
                            boolean rejectUnknownNames, TlsProfile profile, List<String> protocols, List<String> ciphers,
                            List<String> curves, List<String> alpn, int sessionCacheSize, Duration sessionTimeout,
                            TicketKeys ticketKeys, ClientAuth clientAuth, List<X509Certificate> clientCa,
                            boolean ocspStapling, Path keyLogFile) {
        this(provider, certificates, defaultCertificate, rejectUnknownNames, profile, protocols, ciphers, curves, alpn,
                sessionCacheSize, sessionTimeout, ticketKeys, clientAuth, clientCa, ocspStapling, keyLogFile, false);
    }

    /** Options with every default: intermediate profile, no ALPN, no client auth, provider session defaults. */
    public static ServerTlsOptions defaults(SslProvider provider, List<SniCertificate> certificates) {
        return new ServerTlsOptions(provider, certificates, null, false, TlsProfile.INTERMEDIATE, List.of(), List.of(),
                List.of(), List.of(), 0, null, null, ClientAuth.NONE, List.of(), false, null);
    }

    /** The protocols in force: the explicit ones, else the profile's. */
    public List<String> effectiveProtocols() {
        return protocols.isEmpty() ? profile.protocols() : protocols;
    }
}
