package io.portico.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.internal.tcnative.SSL;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import java.util.List;

/**
 * TLS towards HTTPS upstreams: one client context, one {@link SslHandler} per connection. Sessions
 * are cached by the context per {@code host:port}, so pooled connections to one upstream resume.
 * The upstream's certificate chain and host name are verified unless the options turn verification
 * off, which accepts any certificate.
 *
 * <p>Renegotiation: with OpenSSL every engine is set to refuse it (BoringSSL's
 * {@code ssl_renegotiate_never}; Netty's default would allow one server-initiated renegotiation).
 * SunJSSE offers no switch for the client side; it follows a TLS 1.2 server's secure renegotiation.
 */
public final class ClientTls {

    private static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    private final ClientTlsOptions options;
    private final SslContext context;
    private final boolean openSsl;

    private ClientTls(ClientTlsOptions options, SslContext context) {
        this.options = options;
        this.context = context;
        this.openSsl = TlsProviders.isOpenSsl(options.provider());
    }

    public static ClientTls build(ClientTlsOptions options) throws TlsConfigException {
        // The reference-counted engine would need explicit releases that nothing here does.
        SslProvider provider = options.provider() == SslProvider.OPENSSL_REFCNT ? SslProvider.OPENSSL : options.provider();
        if (provider == null) {
            throw new TlsConfigException("no TLS provider given");
        }
        SslContextBuilder builder = SslContextBuilder.forClient()
                .sslProvider(provider)
                .protocols(options.protocols().isEmpty() ? DEFAULT_PROTOCOLS : options.protocols())
                .endpointIdentificationAlgorithm(options.verify() ? "HTTPS" : null);
        if (!options.verify()) {
            // Without this the JDK's trust store (or the given CAs) would still judge the chain, so
            // verify: false would refuse a self-signed upstream, unlike nginx's proxy_ssl_verify off.
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE);
        } else if (!options.trust().isEmpty()) {
            builder.trustManager(options.trust());
        }
        KeyMaterial client = options.clientCertificate();
        if (client != null) {
            builder.keyManager(client.key(), client.chain());
        }
        if (!options.alpn().isEmpty()) {
            builder.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, options.alpn()));
        }
        try {
            return new ClientTls(options, builder.build());
        } catch (SSLException | RuntimeException e) {
            throw new TlsConfigException("cannot set up upstream TLS: " + e.getMessage(), e);
        }
    }

    /**
     * An SslHandler for a connection to {@code host:port}: SNI is {@code host} when it is a name
     * (not an IP literal), the certificate is checked against {@code host} when hostname
     * verification is on, and a cached session for {@code host:port} is offered.
     */
    public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        SslHandler handler = context.newHandler(alloc, host, port);
        if (!ServerNames.isIpLiteral(host)) {
            requestServerName(handler.engine(), host);
        }
        if (openSsl) {
            SSLEngine engine = handler.engine();
            if (engine instanceof ReferenceCountedOpenSslEngine) {
                try {
                    SSL.setRenegotiateMode(((ReferenceCountedOpenSslEngine) engine).sslPointer(), SSL.SSL_RENEGOTIATE_NEVER);
                } catch (Exception e) {
                    // Only thrown by OpenSSL builds without the call; BoringSSL has it.
                }
            }
        }
        return handler;
    }

    /**
     * Both engines leave SNI out for names without a dot ({@code localhost}, single-label service
     * names), which name-based upstreams need as much as any other, so it is set explicitly.
     */
    private static void requestServerName(SSLEngine engine, String host) {
        SNIHostName name;
        try {
            name = new SNIHostName(host);
        } catch (IllegalArgumentException e) {
            return; // not a valid DNS name (e.g. an underscore): nothing an upstream could match anyway
        }
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setServerNames(List.of(name));
        engine.setSSLParameters(parameters);
    }

    public SslContext context() {
        return context;
    }

    public ClientTlsOptions options() {
        return options;
    }
}
