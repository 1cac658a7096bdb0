package io.portico.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/** A mutable way to spell {@link ServerTlsOptions} in tests, and client handlers made from plain Netty contexts. */
final class TestOptions {

    SslProvider provider;
    List<SniCertificate> certificates = new ArrayList<>();
    SniCertificate defaultCertificate;
    boolean rejectUnknownNames;
    TlsProfile profile = TlsProfile.INTERMEDIATE;
    List<String> protocols = List.of();
    List<String> ciphers = List.of();
    List<String> curves = List.of();
    List<String> alpn = List.of();
    int sessionCacheSize;
    Duration sessionTimeout;
    TicketKeys ticketKeys;
    ClientAuth clientAuth = ClientAuth.NONE;
    List<X509Certificate> clientCa = List.of();
    boolean ocspStapling;
    Path keyLogFile;
    boolean libcryptoRsa;

    private TestOptions(SslProvider provider) {
        this.provider = provider;
    }

    static TestOptions server(SslProvider provider, KeyMaterial... materials) {
        TestOptions options = new TestOptions(provider);
        for (KeyMaterial material : materials) {
            options.certificates.add(SniCertificate.of(material));
        }
        return options;
    }

    TestOptions with(Consumer<TestOptions> change) {
        change.accept(this);
        return this;
    }

    ServerTlsOptions build() {
        return new ServerTlsOptions(provider, certificates, defaultCertificate, rejectUnknownNames, profile, protocols,
                ciphers, curves, alpn, sessionCacheSize, sessionTimeout, ticketKeys, clientAuth, clientCa, ocspStapling,
                keyLogFile, libcryptoRsa);
    }

    ServerTls buildTls() throws TlsConfigException {
        return ServerTls.build(build());
    }

    /** A client that trusts anything, so that tests can look at which certificate the server chose. */
    static SslContext client(SslProvider provider, Consumer<SslContextBuilder> tweak) throws Exception {
        SslContextBuilder builder = SslContextBuilder.forClient().sslProvider(provider)
                .trustManager(InsecureTrustManagerFactory.INSTANCE)
                .endpointIdentificationAlgorithm(null);
        tweak.accept(builder);
        return builder.build();
    }

    static SslContext client(SslProvider provider) throws Exception {
        return client(provider, b -> { });
    }

    /** Handlers that send {@code serverName} as SNI (none when null) and cache sessions under {@code serverName:cachePort}. */
    static Function<Channel, SslHandler> handler(SslContext context, String serverName, int cachePort) {
        return ch -> serverName == null ? context.newHandler(ch.alloc())
                : context.newHandler(ch.alloc(), serverName, cachePort);
    }
}
