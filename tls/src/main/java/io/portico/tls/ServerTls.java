package io.portico.tls;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.OpenSslX509KeyManagerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.AsyncMapping;
import io.netty.util.AttributeKey;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The built TLS contexts of one listener: one Netty {@link SslContext} per key material, chosen per
 * connection by the client's server name (SNI) and, where a name has both, by whether the client can
 * verify ECDSA. Immutable: a reload builds a new one, and connections keep the one they started with.
 *
 * <p>Renegotiation is never possible: BoringSSL has no server-side renegotiation at all, and for the
 * JDK provider {@link #build} sets {@code jdk.tls.rejectClientInitiatedRenegotiation=true} unless the
 * JVM was started with it set (TLS 1.3 has no renegotiation in either). Compression is never used:
 * Netty sets {@code SSL_OP_NO_COMPRESSION} and BoringSSL has no compression code; SunJSSE only
 * implements the null compression method.
 *
 * <p>Session resumption with OpenSSL: TLS 1.3 tickets are always on; TLS 1.2 tickets only when
 * {@link TicketKeys} are given (Netty disables them otherwise), else TLS 1.2 resumes from the
 * session-ID cache. A session resumes only where the client-auth policy and client CAs are the
 * ones it was authenticated under (see {@link #sessionIdContext}), and for at most the session
 * timeout after its full handshake, TLS 1.3 included (see {@link SessionLifetimeHandler}). With the
 * JDK: SunJSSE's own stateless tickets and its session cache.
 */
public final class ServerTls {

    /**
     * Bytes of BoringSSL's own output (handshake messages, alerts, tickets) a connection's BIO pair
     * holds before Portico drains it. netty-tcnative allocates it natively for every connection, for
     * its whole life, and defaults to 2,048. Handshake bytes go straight into the buffer the wrap
     * loop supplies (2 KiB and up), so this one only takes the overflow of a flight bigger than that,
     * drained in one more pass. 512 saves an idle TLS connection about 1.5 KiB against the default
     * and about 0.4 KiB against 1,024; measured side by side (BENCHMARKS.md, TLS, 11-23 late):
     * 512 and 1,024 cost full and resumed handshakes the same CPU within the runs' noise (ECDSA full
     * 181.6 against 179.0 us, RSA 431 against 447). An earlier single run that put 512 at 9 % dearer
     * was noise.
     */
    static final int BIO_BUFFER = 512;

    static final AttributeKey<String> SNI_HOSTNAME = AttributeKey.valueOf(ServerTls.class, "sniHostname");
    static final long DEFAULT_HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    private static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
    private static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";

    private final ServerTlsOptions options;
    private final Map<String, NameEntry> exact;
    private final Map<String, NameEntry> wildcards;
    private final NameEntry defaultEntry;
    private final List<KeyMaterial> materials;
    private final List<String> warnings;
    private final OcspStapler stapler;
    private final boolean stapling;
    private final JdkKeyLogHandler jdkKeyLog;
    private final SessionLifetimeHandler sessionLifetime;
    private final boolean tls13;
    private final boolean tls12;
    private final AsyncMapping<String, SslContext> unusedMapping;

    private ServerTls(ServerTlsOptions options, Map<String, NameEntry> exact, Map<String, NameEntry> wildcards,
                      NameEntry defaultEntry, List<KeyMaterial> materials, List<String> warnings, OcspStapler stapler,
                      boolean stapling, JdkKeyLogHandler jdkKeyLog, SessionLifetimeHandler sessionLifetime,
                      List<String> protocols) {
        this.options = options;
        this.exact = exact;
        this.wildcards = wildcards;
        this.defaultEntry = defaultEntry;
        this.materials = materials;
        this.warnings = warnings;
        this.stapler = stapler;
        this.stapling = stapling;
        this.jdkKeyLog = jdkKeyLog;
        this.sessionLifetime = sessionLifetime;
        this.tls13 = protocols.contains("TLSv1.3");
        this.tls12 = protocols.contains("TLSv1.2") || protocols.contains("TLSv1.1") || protocols.contains("TLSv1");
        SslContext fallback = defaultEntry.any().context;
        this.unusedMapping = (name, promise) -> promise.setSuccess(fallback);
    }

    /** Builds the contexts with a stapler of its own (see {@link #ocspStapler()}). */
    public static ServerTls build(ServerTlsOptions options) throws TlsConfigException {
        return build(options, new OcspStapler());
    }

    /**
     * Builds the contexts; the stapler may be shared with the listener's previous {@code ServerTls}
     * so that loaded OCSP responses carry over a reload.
     */
    public static ServerTls build(ServerTlsOptions options, OcspStapler stapler) throws TlsConfigException {
        return new Builder(options, stapler).build();
    }

    /** A new handler for an accepted connection (10 s to receive the ClientHello and finish the handshake). */
    public ChannelHandler newHandler() {
        return new SniSelector(this, unusedMapping, DEFAULT_HANDSHAKE_TIMEOUT_MILLIS, null);
    }

    /** A new handler for an accepted connection, with the given time for the ClientHello and for the handshake. */
    public ChannelHandler newHandler(Duration handshakeTimeout) {
        return new SniSelector(this, unusedMapping, handshakeTimeout.toMillis(), null);
    }

    /**
     * A new handler for an accepted connection of an HTTP listener: when the client's first byte
     * is an upper-case ASCII letter (an HTTP method; no TLS record starts so), {@code plainHttp}
     * answers with the listener's context instead of a failed handshake, as nginx answers 400
     * "The plain HTTP request was sent to HTTPS port". Its writes go to the socket as they are.
     * Downstream handlers see a failed {@link io.netty.handler.ssl.SslHandshakeCompletionEvent}
     * first, caused by a {@link io.netty.handler.ssl.NotSslRecordException}.
     */
    public ChannelHandler newHandler(Duration handshakeTimeout, Consumer<ChannelHandlerContext> plainHttp) {
        return new SniSelector(this, unusedMapping, handshakeTimeout.toMillis(), plainHttp);
    }

    /** The server name the client sent (lower case), or null when it sent none or the handshake has not started. */
    public static String sniHostname(Channel ch) {
        return ch.hasAttr(SNI_HOSTNAME) ? ch.attr(SNI_HOSTNAME).get() : null;
    }

    /** The client's certificate after a handshake that requested one, or null. */
    public static X509Certificate clientCertificate(Channel ch) {
        SslHandler handler = ch.pipeline().get(SslHandler.class);
        if (handler == null) {
            return null;
        }
        try {
            Certificate[] chain = handler.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate ? (X509Certificate) chain[0] : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** The context for clients that send no server name (its EC variant when the default has both). */
    public SslContext defaultContext() {
        return defaultEntry.any().context;
    }

    /** Certificate and option warnings for the startup log, one sentence each. */
    public List<String> warnings() {
        return warnings;
    }

    /** Where to load OCSP responses for this listener's certificates (used only with {@code ocspStapling} on OpenSSL). */
    public OcspStapler ocspStapler() {
        return stapler;
    }

    /** Every key material this listener serves, default first. */
    public List<KeyMaterial> materials() {
        return materials;
    }

    public ServerTlsOptions options() {
        return options;
    }

    /**
     * The material a client would get for this server name, or null when the name would be
     * rejected; {@code ecdsa} says whether the client can verify ECDSA.
     */
    public KeyMaterial materialFor(String serverName, boolean ecdsa) {
        int flags = ecdsa ? ClientHello.PARSED | ClientHello.OFFERS_TLS13 | ClientHello.SIGNATURE_ALGORITHMS
                | ClientHello.ECDSA_ANY | ClientHello.ECDSA_P256_SHA256 | ClientHello.ECDSA_P384_SHA384
                | ClientHello.ECDSA_P521_SHA512 | ClientHello.ECDSA_SUITE : ClientHello.PARSED;
        ServerContext context = select(serverName == null ? null : ServerNames.normalise(serverName), flags);
        return context == null ? null : context.material;
    }

    /** The context for a connection, or null to reject it. */
    ServerContext select(String hostname, int helloFlags) {
        NameEntry entry = hostname == null ? defaultEntry : find(hostname);
        if (entry == null) {
            if (options.rejectUnknownNames()) {
                return null;
            }
            entry = defaultEntry;
        }
        return entry.choose(helloFlags, tls13, tls12);
    }

    /** Per-engine set-up before the handshake: the OCSP staple. */
    void prepare(ServerContext context, SslHandler handler) {
        if (stapling) {
            stapler.staple(context.material, handler.engine());
        }
    }

    /** The JDK key log handler to put after the SslHandler, or null. */
    ChannelHandler jdkKeyLogHandler() {
        return jdkKeyLog;
    }

    /** The handler that bounds TLS 1.3 sessions by the session timeout, to put before the SslHandler, or null. */
    ChannelHandler sessionLifetimeHandler() {
        return sessionLifetime;
    }

    /**
     * The session-ID context of a listener's OpenSSL contexts: SHA-256 over the client-auth policy
     * and, unless it is NONE, every client CA certificate. BoringSSL resumes a session (ticket or
     * cache) only under the context it was made in, and Netty gives every context the same one, so
     * without this a ticket from a listener without client auth resumed on one that requires a
     * certificate, and a certificate from a CA a reload removed kept working by resumption (TLS 1.3;
     * RFC 8446 section 4.6.1). nginx does the same (ngx_ssl_session_id_context). Listeners with the
     * same policy share a value, so instances sharing ticket keys still resume each other's sessions.
     */
    static byte[] sessionIdContext(ClientAuth clientAuth, List<X509Certificate> clientCa) throws TlsConfigException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new TlsConfigException("the JDK has no SHA-256: " + e.getMessage(), e);
        }
        digest.update(("portico client auth " + clientAuth.name()).getBytes(StandardCharsets.US_ASCII));
        if (clientAuth != ClientAuth.NONE) {
            for (X509Certificate ca : clientCa) {
                byte[] der;
                try {
                    der = ca.getEncoded();
                } catch (CertificateEncodingException e) {
                    throw new TlsConfigException("cannot encode client CA " + ca.getSubjectX500Principal() + ": "
                            + e.getMessage(), e);
                }
                // Length-prefixed, so that no two CA lists give the same input.
                digest.update(new byte[] {(byte) (der.length >>> 24), (byte) (der.length >>> 16),
                        (byte) (der.length >>> 8), (byte) der.length});
                digest.update(der);
            }
        }
        return digest.digest();
    }

    private NameEntry find(String hostname) {
        NameEntry entry = exact.get(hostname);
        if (entry == null && !wildcards.isEmpty()) {
            String parent = ServerNames.parent(hostname);
            if (parent != null) {
                entry = wildcards.get(parent);
            }
        }
        return entry;
    }

    /** One key material's context. */
    static final class ServerContext {
        final KeyMaterial material;
        final SslContext context;
        /** The TLS 1.3 ECDSA scheme flag its key signs with; 0 for RSA. */
        final int scheme;

        ServerContext(KeyMaterial material, SslContext context) {
            this.material = material;
            this.context = context;
            this.scheme = material.key() instanceof ECKey
                    ? ClientHello.schemeFor(((ECKey) material.key()).getParams().getCurve().getField().getFieldSize())
                    : 0;
        }
    }

    /** The RSA and/or EC context of one certificate entry. */
    static final class NameEntry {
        final ServerContext rsa;
        final ServerContext ec;

        NameEntry(ServerContext rsa, ServerContext ec) {
            this.rsa = rsa;
            this.ec = ec;
        }

        ServerContext any() {
            return ec != null ? ec : rsa;
        }

        ServerContext choose(int helloFlags, boolean tls13, boolean tls12) {
            if (ec == null) {
                return rsa;
            }
            if (rsa == null) {
                return ec;
            }
            return ClientHello.acceptsEcdsa(helloFlags, ec.scheme, tls13, tls12) ? ec : rsa;
        }
    }

    /** Validates the options and builds every context. */
    private static final class Builder {
        private final ServerTlsOptions options;
        private final OcspStapler stapler;
        private final SslProvider provider;
        private final boolean openSsl;
        private final List<String> warnings = new ArrayList<>();
        private final Map<SniCertificate, NameEntry> built = new HashMap<>();
        private final Map<KeyMaterial, Boolean> materials = new IdentityHashMap<>();
        private final List<KeyMaterial> materialOrder = new ArrayList<>();
        private List<String> protocols;
        private List<String> ciphers;
        private KeyLogFile keyLog;
        private byte[] sessionIdContext;

        Builder(ServerTlsOptions options, OcspStapler stapler) {
            this.options = options;
            this.stapler = stapler;
            // The reference-counted engine would need explicit releases that nothing here does.
            this.provider = options.provider() == SslProvider.OPENSSL_REFCNT ? SslProvider.OPENSSL : options.provider();
            this.openSsl = TlsProviders.isOpenSsl(provider);
        }

        ServerTls build() throws TlsConfigException {
            if (provider == null) {
                throw new TlsConfigException("no TLS provider given");
            }
            if (options.certificates().isEmpty() && options.defaultCertificate() == null) {
                throw new TlsConfigException("a TLS listener needs at least one certificate");
            }
            if (options.clientAuth() != ClientAuth.NONE && options.clientCa().isEmpty()) {
                throw new TlsConfigException("client certificate authentication (" + options.clientAuth()
                        + ") needs the client CA certificates to verify against");
            }
            protocols = protocols();
            ciphers = ciphers();
            checkProviderOptions();
            sessionIdContext = sessionIdContext(options.clientAuth(), options.clientCa());
            if (options.keyLogFile() != null) {
                keyLog = KeyLogFile.open(options.keyLogFile(), warnings);
                warnings.add("TLS secrets are written to " + keyLog.path()
                        + " (key log): anyone who can read it can decrypt captured traffic; for debugging only");
            }

            Map<String, NameEntry> exact = new HashMap<>();
            Map<String, NameEntry> wildcards = new HashMap<>();
            Map<String, SniCertificate> owners = new HashMap<>();
            for (SniCertificate certificate : options.certificates()) {
                NameEntry entry = entry(certificate);
                for (String name : certificate.effectiveNames()) {
                    SniCertificate owner = owners.putIfAbsent(name, certificate);
                    if (owner != null && owner != certificate) {
                        throw new TlsConfigException("server name " + name + " is given to two certificates: "
                                + sources(owner) + " and " + sources(certificate));
                    }
                    if (ServerNames.isWildcard(name)) {
                        wildcards.put(name.substring(2), entry);
                    } else {
                        exact.put(name, entry);
                    }
                }
            }
            NameEntry defaultEntry;
            if (options.defaultCertificate() != null) {
                defaultEntry = entry(options.defaultCertificate());
                for (String name : options.defaultCertificate().effectiveNames()) {
                    if (ServerNames.isWildcard(name)) {
                        wildcards.putIfAbsent(name.substring(2), defaultEntry);
                    } else {
                        exact.putIfAbsent(name, defaultEntry);
                    }
                }
            } else {
                defaultEntry = entry(options.certificates().get(0));
            }
            List<KeyMaterial> ordered = new ArrayList<>();
            if (defaultEntry.ec != null) {
                ordered.add(defaultEntry.ec.material);
            }
            if (defaultEntry.rsa != null) {
                ordered.add(defaultEntry.rsa.material);
            }
            for (KeyMaterial m : materialOrder) {
                if (!ordered.contains(m)) {
                    ordered.add(m);
                }
            }
            JdkKeyLogHandler jdkKeyLog = keyLog != null && !openSsl ? new JdkKeyLogHandler(keyLog) : null;
            // BoringSSL bounds TLS 1.2 sessions by the context's timeout itself, TLS 1.3 ones only through this.
            long timeout = sessionTimeoutSeconds();
            SessionLifetimeHandler sessionLifetime = openSsl && timeout > 0 && protocols.contains("TLSv1.3")
                    ? new SessionLifetimeHandler(timeout) : null;
            return new ServerTls(options, Map.copyOf(exact), Map.copyOf(wildcards), defaultEntry, List.copyOf(ordered),
                    List.copyOf(new LinkedHashSet<>(warnings)), stapler, options.ocspStapling() && openSsl,
                    jdkKeyLog, sessionLifetime, protocols);
        }

        private NameEntry entry(SniCertificate certificate) throws TlsConfigException {
            NameEntry existing = built.get(certificate);
            if (existing != null) {
                return existing;
            }
            if (certificate.material().isEmpty()) {
                throw new TlsConfigException("certificate entry for " + certificate.names() + " has no key material");
            }
            ServerContext rsa = null;
            ServerContext ec = null;
            for (KeyMaterial material : certificate.material()) {
                ServerContext context = new ServerContext(material, context(material));
                if ("EC".equals(material.keyType())) {
                    if (ec != null) {
                        throw new TlsConfigException("two EC certificates for " + certificate.effectiveNames() + ": "
                                + ec.material.source() + " and " + material.source() + "; give one RSA and one EC at most");
                    }
                    ec = context;
                } else {
                    if (rsa != null) {
                        throw new TlsConfigException("two RSA certificates for " + certificate.effectiveNames() + ": "
                                + rsa.material.source() + " and " + material.source() + "; give one RSA and one EC at most");
                    }
                    rsa = context;
                }
                for (String name : certificate.names()) {
                    if (!material.covers(name)) {
                        warnings.add("the certificate in " + material.source() + " does not cover server name " + name
                                + " (it covers " + material.names() + "); clients will reject it for that name");
                    }
                }
            }
            NameEntry entry = new NameEntry(rsa, ec);
            built.put(certificate, entry);
            return entry;
        }

        private SslContext context(KeyMaterial material) throws TlsConfigException {
            if (materials.put(material, Boolean.TRUE) == null) {
                materialOrder.add(material);
                warnings.addAll(material.warnings());
            }
            LibcryptoSigner signer = libcryptoSigner(material);
            SslContextBuilder builder = (signer == null
                    ? SslContextBuilder.forServer(material.key(), material.chain())
                    : SslContextBuilder.forServer(keyless(material)).option(OpenSslContextOption.PRIVATE_KEY_METHOD, signer))
                    .sslProvider(provider)
                    .protocols(protocols)
                    .ciphers(ciphers, SupportedCipherSuiteFilter.INSTANCE)
                    .clientAuth(options.clientAuth());
            if (options.sessionCacheSize() > 0) {
                builder.sessionCacheSize(options.sessionCacheSize());
            }
            long timeout = sessionTimeoutSeconds();
            if (timeout > 0) {
                builder.sessionTimeout(timeout);
            }
            if (options.clientAuth() != ClientAuth.NONE) {
                builder.trustManager(options.clientCa());
            }
            if (!options.alpn().isEmpty()) {
                builder.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, options.alpn()));
            }
            if (openSsl) {
                if (options.ocspStapling()) {
                    builder.enableOcsp(true);
                }
                if (!options.curves().isEmpty()) {
                    builder.option(OpenSslContextOption.GROUPS, curves(options.curves()));
                }
            }
            SslContext context;
            try {
                context = builder.build();
            } catch (SSLException | RuntimeException e) {
                throw new TlsConfigException("cannot set up TLS with the certificate in " + material.source() + ": "
                        + e.getMessage(), e);
            }
            if (context instanceof ReferenceCountedOpenSslContext openSslContext) {
                openSslContext.setBioNonApplicationBufferSize(BIO_BUFFER);
            }
            // SunJSSE needs nothing of the kind: its tickets and cache belong to one context, and it
            // does not resume a session without a peer certificate where one is required.
            if (context.sessionContext() instanceof OpenSslServerSessionContext sessions
                    && !sessions.setSessionIdContext(sessionIdContext)) {
                throw new TlsConfigException("cannot set the TLS session-ID context for the certificate in "
                        + material.source());
            }
            if (options.ticketKeys() != null && openSsl) {
                options.ticketKeys().applyTo(context);
            }
            if (keyLog != null && openSsl && !keyLog.attach(context)) {
                warnings.add("the OpenSSL library cannot log TLS secrets; " + keyLog.path() + " stays empty");
            }
            return context;
        }

        /** The session timeout in whole seconds (at least 1), or 0 for the provider's default. */
        private long sessionTimeoutSeconds() {
            Duration timeout = options.sessionTimeout();
            return timeout == null || timeout.isZero() || timeout.isNegative() ? 0 : Math.max(1, timeout.getSeconds());
        }

        /** The libcrypto signer for an RSA certificate when the options ask for one, else null (BoringSSL signs). */
        private LibcryptoSigner libcryptoSigner(KeyMaterial material) throws TlsConfigException {
            if (!openSsl || !options.libcryptoRsa() || "EC".equals(material.keyType())) {
                return null;
            }
            if (protocols.contains("TLSv1") || protocols.contains("TLSv1.1")) {
                warnings.add("RSA signatures stay with BoringSSL: TLS 1.0/1.1 sign with MD5+SHA-1, which the system OpenSSL path does not do");
                return null;
            }
            return LibcryptoSigner.forKey(material.key(), material.source());
        }

        /** The certificate chain without its key: BoringSSL asks the signer for every use of the key. */
        private static OpenSslX509KeyManagerFactory keyless(KeyMaterial material) throws TlsConfigException {
            try {
                return OpenSslX509KeyManagerFactory.newKeyless(material.chain());
            } catch (Exception e) {
                throw new TlsConfigException("cannot set up TLS with the certificate in " + material.source() + ": "
                        + e.getMessage(), e);
            }
        }

        private List<String> protocols() throws TlsConfigException {
            List<String> list = options.effectiveProtocols();
            for (String protocol : list) {
                if (!KNOWN_PROTOCOLS.contains(protocol)) {
                    throw new TlsConfigException("unknown TLS protocol " + protocol + "; use TLSv1.2 and/or TLSv1.3");
                }
                if ("TLSv1".equals(protocol) || "TLSv1.1".equals(protocol)) {
                    warnings.add(protocol + " is obsolete and insecure (RFC 8996)"
                            + (openSsl ? "" : "; the JDK also refuses it unless jdk.tls.disabledAlgorithms is changed"));
                }
            }
            return list;
        }

        private List<String> ciphers() throws TlsConfigException {
            Set<String> supported = supportedCiphers();
            if (options.ciphers().isEmpty()) {
                List<String> usable = new ArrayList<>();
                for (String cipher : options.profile().ciphers()) {
                    if (supported.contains(cipher)) {
                        usable.add(cipher);
                    }
                }
                return List.copyOf(usable);
            }
            List<String> unknown = new ArrayList<>();
            for (String cipher : options.ciphers()) {
                if (!supported.contains(cipher)) {
                    unknown.add(cipher);
                }
            }
            if (!unknown.isEmpty()) {
                throw new TlsConfigException("cipher suite(s) " + unknown + " are unknown to the "
                        + provider.name().toLowerCase(Locale.ROOT) + " provider; use IANA names such as "
                        + "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
            }
            if (!openSsl && protocols.contains("TLSv1.3")
                    && options.ciphers().stream().noneMatch(c -> TlsProfile.MODERN.ciphers().contains(c))) {
                warnings.add("no TLS 1.3 cipher suite is listed, so TLSv1.3 cannot be negotiated with the JDK provider");
            }
            return options.ciphers();
        }

        private Set<String> supportedCiphers() throws TlsConfigException {
            if (openSsl) {
                return OpenSsl.availableJavaCipherSuites();
            }
            try {
                return new HashSet<>(Arrays.asList(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites()));
            } catch (NoSuchAlgorithmException e) {
                throw new TlsConfigException("the JDK has no default TLS implementation: " + e.getMessage(), e);
            }
        }

        private void checkProviderOptions() {
            if (openSsl) {
                if (options.ocspStapling() && !OpenSsl.isOcspSupported()) {
                    warnings.add("the OpenSSL library in use cannot staple OCSP responses; stapling is off");
                }
                return;
            }
            String reject = System.getProperty(REJECT_RENEGOTIATION);
            if (reject == null) {
                // Read once by SunJSSE's ServerHandshakeContext when the first server handshake starts.
                System.setProperty(REJECT_RENEGOTIATION, "true");
            } else if (!Boolean.parseBoolean(reject)) {
                warnings.add("-D" + REJECT_RENEGOTIATION + "=" + reject
                        + " lets TLS 1.2 clients renegotiate with the JDK provider");
            }
            if (options.ticketKeys() != null) {
                warnings.add("session ticket keys (" + options.ticketKeys() + ") are ignored with the JDK provider:"
                        + " SunJSSE uses its own per-context keys, so tickets do not resume across instances or reloads");
            }
            if (options.ocspStapling()) {
                warnings.add("OCSP stapling of given responses needs the OpenSSL provider; it is off with the JDK provider");
            }
            if (!options.curves().isEmpty()) {
                warnings.add("curves " + options.curves() + " are ignored with the JDK provider on Java 17;"
                        + " set them with -Djdk.tls.namedGroups");
            }
            if (options.keyLogFile() != null && !JdkKeyLogHandler.available()) {
                warnings.add("the JDK provider can log TLS 1.2 secrets only with"
                        + " --add-opens java.base/sun.security.ssl=ALL-UNNAMED; the key log stays empty");
            } else if (options.keyLogFile() != null) {
                warnings.add("the JDK provider logs TLS 1.2 secrets only, not TLS 1.3");
            }
        }

        private static String[] curves(List<String> curves) {
            String[] names = new String[curves.size()];
            for (int i = 0; i < names.length; i++) {
                String curve = curves.get(i).trim();
                switch (curve.toLowerCase(Locale.ROOT)) {
                    case "x25519":
                        names[i] = "X25519";
                        break;
                    case "p-256": case "secp256r1": case "prime256v1":
                        names[i] = "P-256";
                        break;
                    case "p-384": case "secp384r1":
                        names[i] = "P-384";
                        break;
                    case "p-521": case "secp521r1":
                        names[i] = "P-521";
                        break;
                    case "x25519mlkem768":
                        names[i] = "X25519MLKEM768";
                        break;
                    default:
                        names[i] = curve;
                }
            }
            return names;
        }

        private static String sources(SniCertificate certificate) {
            List<String> sources = new ArrayList<>();
            for (KeyMaterial m : certificate.material()) {
                sources.add(m.source());
            }
            return String.join(", ", sources);
        }
    }
}
