package io.portico.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Client certificates, key logging and OCSP stapling over real handshakes. */
class ServerTlsFeaturesTest {

    private static TestPki.Issued ca;
    private static TestPki.Issued clientCa;
    private static TestPki.Issued strangerCa;
    private static TestPki.Issued serverLeaf;
    private static KeyMaterial server;
    private static KeyMaterial goodClient;
    private static KeyMaterial strangerClient;
    private static TlsHarness harness;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        ca = TestPki.ca("Features Root", "RSA");
        TestPki.Issued intermediate = TestPki.intermediate(ca, "Features Intermediate");
        serverLeaf = TestPki.leaf(intermediate, "EC", "www.example.com");
        server = TestPki.material(serverLeaf, intermediate.certificate());
        clientCa = TestPki.ca("Client Root", "EC");
        strangerCa = TestPki.ca("Stranger Root", "EC");
        goodClient = TestPki.material(TestPki.clientLeaf(clientCa, "alice"), clientCa.certificate());
        strangerClient = TestPki.material(TestPki.clientLeaf(strangerCa, "mallory"), strangerCa.certificate());
        harness = new TlsHarness();
    }

    @AfterAll
    static void tearDown() {
        harness.shutdown();
    }

    private static ServerTls mtls(SslProvider provider, ClientAuth auth) throws TlsConfigException {
        return TestOptions.server(provider, server).with(o -> {
            o.clientAuth = auth;
            o.clientCa = List.of(clientCa.certificate());
        }).buildTls();
    }

    private static SslContext clientWith(SslProvider provider, KeyMaterial certificate) throws Exception {
        return TestOptions.client(provider, b -> {
            if (certificate != null) {
                b.keyManager(certificate.key(), certificate.chain());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void optionalClientAuthAcceptsClientsWithAndWithoutACertificate(SslProvider provider) throws Exception {
        try (TlsHarness.Server listener = harness.serve(mtls(provider, ClientAuth.OPTIONAL))) {
            TlsHarness.Handshake anonymous = harness.connect(listener.port(),
                    TestOptions.handler(clientWith(provider, null), "www.example.com", listener.port()));
            TlsHarness.Handshake anonymousSeen = listener.next();
            TlsHarness.Handshake alice = harness.connect(listener.port(),
                    TestOptions.handler(clientWith(provider, goodClient), "www.example.com", listener.port()));
            TlsHarness.Handshake aliceSeen = listener.next();

            assertThat(anonymous.failure()).isNull();
            assertThat(anonymousSeen.peerCertificate()).isNull();
            assertThat(alice.failure()).isNull();
            assertThat(aliceSeen.peerCertificate()).isEqualTo(goodClient.leaf());
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void requiredClientAuthAcceptsOnlyCertificatesFromTheClientCa(SslProvider provider) throws Exception {
        try (TlsHarness.Server listener = harness.serve(mtls(provider, ClientAuth.REQUIRE))) {
            TlsHarness.Handshake anonymous = harness.connect(listener.port(),
                    TestOptions.handler(clientWith(provider, null), "www.example.com", listener.port()));
            TlsHarness.Handshake anonymousSeen = listener.next();
            TlsHarness.Handshake mallory = harness.connect(listener.port(),
                    TestOptions.handler(clientWith(provider, strangerClient), "www.example.com", listener.port()));
            TlsHarness.Handshake mallorySeen = listener.next();
            TlsHarness.Handshake alice = harness.connect(listener.port(),
                    TestOptions.handler(clientWith(provider, goodClient), "www.example.com", listener.port()));
            TlsHarness.Handshake aliceSeen = listener.next();

            assertThat(anonymous.succeeded()).isFalse();
            assertThat(anonymousSeen.succeeded()).isFalse();
            assertThat(mallory.succeeded()).isFalse();
            assertThat(mallorySeen.succeeded()).isFalse();
            assertThat(alice.failure()).isNull();
            assertThat(aliceSeen.peerCertificate()).isEqualTo(goodClient.leaf());
        }
    }

    @Test
    void clientAuthNeedsAClientCa() {
        assertThatThrownBy(() -> TestOptions.server(SslProvider.OPENSSL, server)
                .with(o -> o.clientAuth = ClientAuth.REQUIRE).buildTls())
                .hasMessageContaining("needs the client CA certificates");
    }

    @Test
    void openSslWritesNssKeyLogLinesForTls13AndTls12() throws Exception {
        Path log = dir.resolve("keys.log");
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, server).with(o -> o.keyLogFile = log).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            harness.connect(listener.port(), TestOptions.handler(TestOptions.client(SslProvider.JDK), "www.example.com", 1));
            harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(SslProvider.JDK, b -> b.protocols("TLSv1.2")), "www.example.com", 2));

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Files.readAllLines(log))
                    .anyMatch(line -> line.matches("CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]{64}"))
                    .anyMatch(line -> line.startsWith("SERVER_TRAFFIC_SECRET_0 "))
                    .anyMatch(line -> line.matches("CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}")));
            assertThat(tls.warnings()).anyMatch(w -> w.contains("for debugging only"));
        }
    }

    @Test
    void jdkWritesTls12MasterSecretsToTheKeyLog() throws Exception {
        Path log = dir.resolve("jdk-keys.log");
        ServerTls tls = TestOptions.server(SslProvider.JDK, server).with(o -> o.keyLogFile = log).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            TlsHarness.Handshake handshake = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(SslProvider.OPENSSL, b -> b.protocols("TLSv1.2")), "www.example.com", 1));

            assertThat(handshake.failure()).isNull();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Files.readAllLines(log))
                    .anyMatch(line -> line.matches("RSA Session-ID:[0-9a-f]{64} Master-Key:[0-9a-f]{96}")));
            assertThat(tls.warnings()).anyMatch(w -> w.contains("logs TLS 1.2 secrets only"));
        }
    }

    @Test
    void aNewKeyLogIsForItsOwnerOnly() throws Exception {
        Path log = dir.resolve("new-keys.log");

        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, server).with(o -> o.keyLogFile = log).buildTls();

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log))).isEqualTo("rw-------");
        assertThat(tls.warnings()).noneMatch(w -> w.contains("other users"));
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void anExistingKeyLogOthersCanReadBecomesOwnerOnly(SslProvider provider) throws Exception {
        Path log = Files.writeString(dir.resolve("shared-keys.log"), "CLIENT_RANDOM from an earlier run\n");
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-r--r--"));

        ServerTls tls = TestOptions.server(provider, server).with(o -> o.keyLogFile = log).buildTls();

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log))).isEqualTo("rw-------");
        assertThat(tls.warnings()).anyMatch(w -> w.contains(log.toString()) && w.contains("(rw-r--r--)")
                && w.contains("now owner-only"));
        assertThat(Files.readAllLines(log)).containsExactly("CLIENT_RANDOM from an earlier run");
    }

    @Test
    void staplesTheLoadedOcspResponseWithOpenSsl() throws Exception {
        byte[] response = TestPki.ocspResponse(TestPki.intermediateOf(serverLeaf), server.leaf());
        Path file = Files.write(dir.resolve("www.ocsp"), response);
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, server).with(o -> o.ocspStapling = true).buildTls();
        List<String> warnings = tls.ocspStapler().load(server, file);
        SslContext client = TestOptions.client(SslProvider.OPENSSL, b -> b.enableOcsp(true));
        try (TlsHarness.Server listener = harness.serve(tls)) {
            TlsHarness.Handshake handshake = harness.connect(listener.port(),
                    TestOptions.handler(client, "www.example.com", listener.port()));

            assertThat(warnings).isEmpty();
            assertThat(handshake.failure()).isNull();
            assertThat(handshake.ocspResponse()).isEqualTo(response);
        }
    }

    @Test
    void refusesAnOcspResponseForAnotherCertificate() throws Exception {
        TestPki.Issued other = TestPki.leaf(ca, "EC", "other.example.com");
        Path file = Files.write(dir.resolve("other.ocsp"), TestPki.ocspResponse(ca, other.certificate()));
        OcspStapler stapler = new OcspStapler();

        assertThatThrownBy(() -> stapler.load(server, file))
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("is not for the certificate in " + server.source());
        assertThat(stapler.response(server)).isNull();
    }

    @Test
    void ocspStaplingWithTheJdkProviderIsOffWithAWarning() throws Exception {
        ServerTls tls = TestOptions.server(SslProvider.JDK, server).with(o -> o.ocspStapling = true).buildTls();

        assertThat(tls.warnings()).anyMatch(w -> w.startsWith("OCSP stapling of given responses needs the OpenSSL provider"));
    }

    @Test
    void refusesUnknownCipherSuitesByName() {
        assertThatThrownBy(() -> TestOptions.server(SslProvider.OPENSSL, server)
                .with(o -> o.ciphers = List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"))
                .buildTls())
                .hasMessageStartingWith("cipher suite(s) [ECDHE-RSA-AES128-GCM-SHA256] are unknown to the openssl provider");
    }

    @Test
    void restrictsKeyExchangeGroupsWithOpenSsl() throws Exception {
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, server).with(o -> o.curves = List.of("secp384r1")).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            TlsHarness.Handshake p384 = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(SslProvider.OPENSSL), "www.example.com", listener.port()));
            TlsHarness.Handshake x25519Only = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(SslProvider.OPENSSL, b -> b.option(io.netty.handler.ssl.OpenSslContextOption.GROUPS,
                            new String[] {"X25519"})), "www.example.com", listener.port()));

            assertThat(p384.failure()).isNull();
            assertThat(x25519Only.succeeded()).isFalse();
        }
    }
}
