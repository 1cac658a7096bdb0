package io.portico.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Certificate choice by server name and by the client's ECDSA support. */
class ServerTlsSniTest {

    private static TestPki.Issued ca;
    private static KeyMaterial exact;
    private static KeyMaterial wildcard;
    private static KeyMaterial fallback;
    private static KeyMaterial dualRsa;
    private static KeyMaterial dualEc;
    private static TlsHarness harness;

    @BeforeAll
    static void setUp() {
        ca = TestPki.ca("SNI Root", "RSA");
        exact = TestPki.material(TestPki.leaf(ca, "EC", "shop.example.com"), ca.certificate());
        wildcard = TestPki.material(TestPki.leaf(ca, "EC", "*.apps.example.com"), ca.certificate());
        fallback = TestPki.material(TestPki.leaf(ca, "EC", "default.example.com"), ca.certificate());
        dualRsa = TestPki.material(TestPki.leaf(ca, "RSA", "dual.example.com"), ca.certificate());
        dualEc = TestPki.material(TestPki.leaf(ca, "EC", "dual.example.com"), ca.certificate());
        harness = new TlsHarness();
    }

    @AfterAll
    static void tearDown() {
        harness.shutdown();
    }

    private static TestOptions options(SslProvider provider) {
        return TestOptions.server(provider, exact, wildcard).with(o -> {
            o.defaultCertificate = SniCertificate.of(fallback);
            o.certificates.add(new SniCertificate(List.of(), List.of(dualRsa, dualEc)));
        });
    }

    static Stream<Arguments> providerPairs() {
        return Stream.of(
                Arguments.of(SslProvider.OPENSSL, SslProvider.OPENSSL),
                Arguments.of(SslProvider.OPENSSL, SslProvider.JDK),
                Arguments.of(SslProvider.JDK, SslProvider.OPENSSL),
                Arguments.of(SslProvider.JDK, SslProvider.JDK));
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void picksTheCertificateByServerName(SslProvider server, SslProvider client) throws Exception {
        SslContext context = TestOptions.client(client);
        try (TlsHarness.Server listener = harness.serve(options(server).buildTls())) {
            assertThat(serve(listener, context, "shop.example.com")).isEqualTo(exact.leaf());
            assertThat(listener.next().sniHostname()).isEqualTo("shop.example.com");
            assertThat(serve(listener, context, "API.Apps.Example.com")).isEqualTo(wildcard.leaf());
            assertThat(listener.next().sniHostname()).isEqualTo("api.apps.example.com");
            assertThat(serve(listener, context, "deep.api.apps.example.com")).isEqualTo(fallback.leaf());
            assertThat(listener.next().sniHostname()).isEqualTo("deep.api.apps.example.com");
            assertThat(serve(listener, context, "unknown.example.org")).isEqualTo(fallback.leaf());
            assertThat(listener.next().succeeded()).isTrue();
            assertThat(serve(listener, context, null)).isEqualTo(fallback.leaf());
            assertThat(listener.next().sniHostname()).isNull();
        }
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void rejectsUnknownNamesWithAnAlertWhenAsked(SslProvider server, SslProvider client) throws Exception {
        ServerTls tls = options(server).with(o -> o.rejectUnknownNames = true).buildTls();
        SslContext context = TestOptions.client(client);
        try (TlsHarness.Server listener = harness.serve(tls)) {
            TlsHarness.Handshake rejected = harness.connect(listener.port(),
                    TestOptions.handler(context, "unknown.example.org", listener.port()));
            TlsHarness.Handshake serverSide = listener.next();

            assertThat(rejected.succeeded()).isFalse();
            assertThat(String.valueOf(rejected.failure().getMessage()).toLowerCase(Locale.ROOT).replace('_', ' '))
                    .contains("unrecognized name");
            assertThat(serverSide.succeeded()).isFalse();
            assertThat(serverSide.failure()).hasMessageContaining("unrecognized server name: unknown.example.org");
            assertThat(serverSide.sniHostname()).isEqualTo("unknown.example.org");

            assertThat(serve(listener, context, "shop.example.com")).isEqualTo(exact.leaf());
            assertThat(serve(listener, context, null)).as("clients that send no name").isEqualTo(fallback.leaf());
        }
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void servesTheEcCertificateToEcdsaCapableClientsAndRsaToTheOthers(SslProvider server, SslProvider client)
            throws Exception {
        SslContext ecdsaOnly = TestOptions.client(client, b -> b.protocols("TLSv1.2")
                .ciphers(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")));
        SslContext rsaOnly = TestOptions.client(client, b -> b.protocols("TLSv1.2")
                .ciphers(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")));
        SslContext modern = TestOptions.client(client);
        try (TlsHarness.Server listener = harness.serve(options(server).buildTls())) {
            assertThat(serve(listener, ecdsaOnly, "dual.example.com")).isEqualTo(dualEc.leaf());
            assertThat(serve(listener, rsaOnly, "dual.example.com")).isEqualTo(dualRsa.leaf());
            assertThat(serve(listener, modern, "dual.example.com")).isEqualTo(dualEc.leaf());
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void answersWhichMaterialANameGets(SslProvider provider) throws Exception {
        ServerTls tls = options(provider).buildTls();

        assertThat(tls.materialFor("dual.example.com", true)).isSameAs(dualEc);
        assertThat(tls.materialFor("dual.example.com", false)).isSameAs(dualRsa);
        assertThat(tls.materialFor("x.apps.example.com", true)).isSameAs(wildcard);
        assertThat(tls.materialFor(null, true)).isSameAs(fallback);
        assertThat(tls.materials()).first().isSameAs(fallback);
        assertThat(tls.materials()).containsExactlyInAnyOrder(fallback, exact, wildcard, dualRsa, dualEc);
    }

    @Test
    void warnsWhenAGivenNameIsNotCoveredByItsCertificate() throws Exception {
        ServerTls tls = TestOptions.server(SslProvider.JDK)
                .with(o -> o.certificates.add(new SniCertificate(List.of("Other.Example.com"), List.of(exact))))
                .buildTls();

        assertThat(tls.warnings()).anyMatch(w -> w.contains("does not cover server name other.example.com"));
    }

    @Test
    void refusesTheSameNameForTwoCertificates() {
        assertThatThrownBy(() -> TestOptions.server(SslProvider.JDK, exact)
                .with(o -> o.certificates.add(new SniCertificate(List.of("shop.example.com"), List.of(fallback))))
                .buildTls())
                .isInstanceOf(TlsConfigException.class)
                .hasMessageStartingWith("server name shop.example.com is given to two certificates");
    }

    @Test
    void refusesTwoEcCertificatesForOneName() {
        assertThatThrownBy(() -> TestOptions.server(SslProvider.JDK)
                .with(o -> o.certificates.add(new SniCertificate(List.of("a.example.com"), List.of(exact, wildcard))))
                .buildTls())
                .hasMessageStartingWith("two EC certificates for [a.example.com]");
    }

    @Test
    void needsACertificate() {
        assertThatThrownBy(() -> TestOptions.server(SslProvider.JDK).buildTls())
                .hasMessage("a TLS listener needs at least one certificate");
    }

    private static java.security.cert.X509Certificate serve(TlsHarness.Server listener, SslContext client, String name)
            throws Exception {
        TlsHarness.Handshake handshake = harness.connect(listener.port(), TestOptions.handler(client, name, listener.port()));
        assertThat(handshake.failure()).as("handshake for " + name).isNull();
        return handshake.peerCertificate();
    }
}
