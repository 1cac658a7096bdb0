package io.portico.tls;

import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Upstream TLS: verification against a CA, hostname checks, SNI, resumption per host and port. */
class ClientTlsTest {

    private static TestPki.Issued ca;
    private static TestPki.Issued otherCa;
    private static KeyMaterial localhost;
    private static KeyMaterial upstream;
    private static TlsHarness harness;
    private static TlsHarness.Server openSslServer;
    private static TlsHarness.Server jdkServer;

    @BeforeAll
    static void setUp() throws Exception {
        ca = TestPki.ca("Upstream Root", "RSA");
        otherCa = TestPki.ca("Someone Else", "EC");
        TestPki.Issued intermediate = TestPki.intermediate(ca, "Upstream Intermediate");
        localhost = TestPki.material(TestPki.leaf(intermediate, "EC", "localhost", "127.0.0.1"), intermediate.certificate());
        upstream = TestPki.material(TestPki.leaf(intermediate, "RSA", "backend.internal"), intermediate.certificate());
        harness = new TlsHarness();
        openSslServer = harness.serve(TestOptions.server(SslProvider.OPENSSL, localhost, upstream)
                .with(o -> o.alpn = List.of("h2", "http/1.1")).buildTls());
        jdkServer = harness.serve(TestOptions.server(SslProvider.JDK, localhost, upstream)
                .with(o -> o.alpn = List.of("h2", "http/1.1")).buildTls());
    }

    @AfterAll
    static void tearDown() {
        openSslServer.close();
        jdkServer.close();
        harness.shutdown();
    }

    static Stream<Arguments> pairs() {
        return Stream.of(
                Arguments.of(SslProvider.OPENSSL, SslProvider.OPENSSL),
                Arguments.of(SslProvider.OPENSSL, SslProvider.JDK),
                Arguments.of(SslProvider.JDK, SslProvider.OPENSSL),
                Arguments.of(SslProvider.JDK, SslProvider.JDK));
    }

    private static TlsHarness.Server server(SslProvider provider) {
        return provider == SslProvider.OPENSSL ? openSslServer : jdkServer;
    }

    private static ClientTls client(SslProvider provider, List<X509Certificate> trust, boolean verify)
            throws TlsConfigException {
        return ClientTls.build(new ClientTlsOptions(provider, trust, verify, null, List.of(), List.of()));
    }

    private static TlsHarness.Handshake connect(ClientTls client, TlsHarness.Server server, String host)
            throws InterruptedException {
        return harness.connect(server.port(), ch -> client.newHandler(ch.alloc(), host, server.port()));
    }

    @ParameterizedTest(name = "client {0}, server {1}")
    @MethodSource("pairs")
    void verifiesTheUpstreamAgainstTheTrustedCaAndSendsSni(SslProvider client, SslProvider server) throws Exception {
        ClientTls tls = client(client, List.of(ca.certificate()), true);

        TlsHarness.Handshake backend = connect(tls, server(server), "backend.internal");
        TlsHarness.Handshake backendSeen = server(server).next();
        TlsHarness.Handshake local = connect(tls, server(server), "localhost");
        TlsHarness.Handshake localSeen = server(server).next();

        assertThat(backend.failure()).isNull();
        assertThat(backend.peerCertificate()).isEqualTo(upstream.leaf());
        assertThat(backendSeen.sniHostname()).isEqualTo("backend.internal");
        assertThat(local.failure()).isNull();
        assertThat(local.peerCertificate()).isEqualTo(localhost.leaf());
        assertThat(localSeen.sniHostname()).isEqualTo("localhost");
    }

    @ParameterizedTest(name = "client {0}, server {1}")
    @MethodSource("pairs")
    void sendsNoSniForAnIpAddressAndChecksTheAddressInstead(SslProvider client, SslProvider server) throws Exception {
        ClientTls tls = client(client, List.of(ca.certificate()), true);

        TlsHarness.Handshake handshake = connect(tls, server(server), "127.0.0.1");
        TlsHarness.Handshake seen = server(server).next();

        assertThat(seen.sniHostname()).isNull();
        // The default certificate is the localhost one, which lists 127.0.0.1.
        assertThat(handshake.failure()).isNull();
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void rejectsACertificateForAnotherHostUnlessVerificationIsOff(SslProvider client) throws Exception {
        TlsHarness.Handshake checked = connect(client(client, List.of(ca.certificate()), true), openSslServer,
                "wrong.internal");
        openSslServer.next();
        TlsHarness.Handshake unchecked = connect(client(client, List.of(ca.certificate()), false), openSslServer,
                "wrong.internal");
        openSslServer.next();

        assertThat(checked.succeeded()).isFalse();
        assertThat(checked.failure()).hasStackTraceContaining("wrong.internal");
        assertThat(unchecked.failure()).isNull();
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void rejectsAnUntrustedCertificate(SslProvider client) throws Exception {
        TlsHarness.Handshake otherCaOnly = connect(client(client, List.of(otherCa.certificate()), true), jdkServer,
                "backend.internal");
        jdkServer.next();
        TlsHarness.Handshake systemTrust = connect(client(client, List.of(), true), jdkServer, "backend.internal");
        jdkServer.next();

        assertThat(otherCaOnly.succeeded()).isFalse();
        assertThat(systemTrust.succeeded()).as("the JDK's trust store does not know the test CA").isFalse();
    }

    @ParameterizedTest(name = "client {0}, server {1}")
    @MethodSource("pairs")
    void acceptsASelfSignedUpstreamOnlyWithVerificationOff(SslProvider client, SslProvider server,
                                                           @TempDir Path dir) throws Exception {
        KeyMaterial selfSigned = DevCertificate.loadOrCreate(dir);
        try (TlsHarness.Server origin = harness.serve(TestOptions.server(server, selfSigned).buildTls())) {
            TlsHarness.Handshake verified = connect(client(client, List.of(), true), origin, "localhost");
            TlsHarness.Handshake verifiedSeen = origin.next();
            TlsHarness.Handshake foreignCa = connect(client(client, List.of(otherCa.certificate()), true), origin,
                    "localhost");
            origin.next();
            TlsHarness.Handshake unverified = connect(client(client, List.of(), false), origin, "localhost");
            origin.next();
            // The CAs given do not matter once verification is off.
            TlsHarness.Handshake unverifiedWithCa = connect(client(client, List.of(otherCa.certificate()), false),
                    origin, "some.other.name");
            origin.next();

            assertThat(verified.succeeded()).isFalse();
            assertThat(verifiedSeen.succeeded()).isFalse();
            assertThat(foreignCa.succeeded()).isFalse();
            assertThat(unverified.failure()).isNull();
            assertThat(unverified.peerCertificate()).isEqualTo(selfSigned.leaf());
            assertThat(unverifiedWithCa.failure()).isNull();
        }
    }

    @ParameterizedTest(name = "client {0}, server {1}")
    @MethodSource("pairs")
    void pooledConnectionsToOneUpstreamResume(SslProvider client, SslProvider server) throws Exception {
        // Neither JDK side tells whether a TLS 1.3 session was resumed; in TLS 1.2 the session id does.
        List<String> protocols = client == SslProvider.JDK && server == SslProvider.JDK ? List.of("TLSv1.2") : List.of();
        ClientTls tls = ClientTls.build(new ClientTlsOptions(client, List.of(ca.certificate()), true, null, protocols,
                List.of()));

        TlsHarness.Handshake first = connect(tls, server(server), "backend.internal");
        TlsHarness.Handshake firstSeen = server(server).next();
        TlsHarness.Handshake second = connect(tls, server(server), "backend.internal");
        TlsHarness.Handshake secondSeen = server(server).next();
        TlsHarness.Handshake otherPort = harness.connect(server(server).port(),
                ch -> tls.newHandler(ch.alloc(), "backend.internal", 1));
        TlsHarness.Handshake otherPortSeen = server(server).next();

        assertThat(resumed(first, firstSeen, null)).isFalse();
        assertThat(resumed(second, secondSeen, first)).isTrue();
        assertThat(resumed(otherPort, otherPortSeen, second)).as("a session is filed under host and port").isFalse();
    }

    @Test
    void offersAlpnAndPresentsAClientCertificate() throws Exception {
        KeyMaterial clientCertificate = TestPki.material(TestPki.clientLeaf(ca, "portico"), ca.certificate());
        ServerTls mtls = TestOptions.server(SslProvider.OPENSSL, upstream).with(o -> {
            o.clientAuth = io.netty.handler.ssl.ClientAuth.REQUIRE;
            o.clientCa = List.of(ca.certificate());
            o.alpn = List.of("h2", "http/1.1");
        }).buildTls();
        ClientTls tls = ClientTls.build(new ClientTlsOptions(SslProvider.OPENSSL, List.of(ca.certificate()), true,
                clientCertificate, List.of("TLSv1.3"), List.of("http/1.1")));
        try (TlsHarness.Server server = harness.serve(mtls)) {
            TlsHarness.Handshake handshake = connect(tls, server, "backend.internal");
            TlsHarness.Handshake seen = server.next();

            assertThat(handshake.failure()).isNull();
            assertThat(handshake.alpn()).isEqualTo("http/1.1");
            assertThat(seen.peerCertificate()).isEqualTo(clientCertificate.leaf());
        }
    }

    /** Asks whichever side can tell: an OpenSSL engine, else (TLS 1.2, JDK both sides) the session id. */
    private static boolean resumed(TlsHarness.Handshake client, TlsHarness.Handshake server,
                                   TlsHarness.Handshake previous) {
        assertThat(client.failure()).isNull();
        if (client.reused() != null) {
            return client.reused();
        }
        if (server.reused() != null) {
            return server.reused();
        }
        return previous != null && java.util.Arrays.equals(previous.sessionId(), client.sessionId());
    }
}
