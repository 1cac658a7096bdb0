package io.portico.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Protocol versions, profiles and ALPN over real handshakes, for both providers on both sides. */
class ServerTlsHandshakeTest {

    private static final List<String> LEGACY_CAPABLE_CIPHERS = List.of("TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA");

    private static TestPki.Issued ca;
    private static KeyMaterial ecServer;
    private static TlsHarness harness;

    @BeforeAll
    static void setUp() {
        ca = TestPki.ca("Handshake Root", "EC");
        ecServer = TestPki.material(TestPki.leaf(ca, "EC", "www.example.com"), ca.certificate());
        harness = new TlsHarness();
    }

    @AfterAll
    static void tearDown() {
        harness.shutdown();
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
    void negotiatesTls13AndTls12(SslProvider server, SslProvider client) throws Exception {
        try (TlsHarness.Server listener = harness.serve(TestOptions.server(server, ecServer).buildTls())) {
            TlsHarness.Handshake tls13 = harness.connect(listener.port(),
                    TestOptions.handler(TestOptions.client(client), "www.example.com", listener.port()));
            TlsHarness.Handshake tls12 = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(client, b -> b.protocols("TLSv1.2")), "www.example.com", listener.port()));

            assertThat(tls13.failure()).isNull();
            assertThat(tls13.protocol()).isEqualTo("TLSv1.3");
            assertThat(tls13.peerCertificate()).isEqualTo(ecServer.leaf());
            assertThat(tls12.failure()).isNull();
            assertThat(tls12.protocol()).isEqualTo("TLSv1.2");
            assertThat(tls12.cipher()).isIn(TlsProfile.INTERMEDIATE.ciphers());
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void refusesTls11AndTls10(SslProvider server) throws Exception {
        // A cipher suite old clients can use is enabled, so that only the protocol versions stand in their way.
        ServerTls tls = TestOptions.server(server, ecServer).with(o -> o.ciphers = LEGACY_CAPABLE_CIPHERS).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            for (String old : List.of("TLSv1.1", "TLSv1")) {
                SslContext client = TestOptions.client(SslProvider.OPENSSL, b -> b.protocols(old).ciphers(LEGACY_CAPABLE_CIPHERS));

                TlsHarness.Handshake handshake = harness.connect(listener.port(),
                        TestOptions.handler(client, "www.example.com", listener.port()));

                assertThat(handshake.succeeded()).as(old).isFalse();
                assertThat(listener.next().succeeded()).as(old).isFalse();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL"})
    void acceptsTls11OnlyWhenListedExplicitly(SslProvider server) throws Exception {
        ServerTls tls = TestOptions.server(server, ecServer)
                .with(o -> o.protocols = List.of("TLSv1.2", "TLSv1.1"))
                .with(o -> o.ciphers = LEGACY_CAPABLE_CIPHERS).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            TlsHarness.Handshake handshake = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(SslProvider.OPENSSL, b -> b.protocols("TLSv1.1").ciphers(LEGACY_CAPABLE_CIPHERS)), "www.example.com", listener.port()));

            assertThat(handshake.failure()).isNull();
            assertThat(handshake.protocol()).isEqualTo("TLSv1.1");
            assertThat(tls.warnings()).anyMatch(w -> w.startsWith("TLSv1.1 is obsolete"));
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void modernProfileRefusesTls12(SslProvider server) throws Exception {
        ServerTls tls = TestOptions.server(server, ecServer).with(o -> o.profile = TlsProfile.MODERN).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            TlsHarness.Handshake tls12 = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(SslProvider.JDK, b -> b.protocols("TLSv1.2")), "www.example.com", listener.port()));
            TlsHarness.Handshake tls13 = harness.connect(listener.port(),
                    TestOptions.handler(TestOptions.client(SslProvider.JDK), "www.example.com", listener.port()));

            assertThat(tls12.succeeded()).isFalse();
            assertThat(tls13.protocol()).isEqualTo("TLSv1.3");
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void refusesClientInitiatedRenegotiation(SslProvider server) throws Exception {
        SslContext client = TestOptions.client(SslProvider.JDK, b -> b.protocols("TLSv1.2"));
        try (TlsHarness.Server listener = harness.serve(TestOptions.server(server, ecServer).buildTls())) {
            io.netty.channel.Channel channel = harness.open(listener.port(),
                    TestOptions.handler(client, "www.example.com", listener.port()));
            try {
                io.netty.handler.ssl.SslHandler ssl = channel.pipeline().get(io.netty.handler.ssl.SslHandler.class);
                assertThat(ssl.handshakeFuture().isSuccess()).isTrue();

                io.netty.util.concurrent.Future<io.netty.channel.Channel> renegotiation = ssl.renegotiate();

                assertThat(renegotiation.awaitUninterruptibly(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
                assertThat(renegotiation.isSuccess()).isFalse();
            } finally {
                channel.close().syncUninterruptibly();
            }
        }
    }

    @ParameterizedTest(name = "server {0}, client {1}")
    @MethodSource("providerPairs")
    void selectsTheApplicationProtocolTheClientOffers(SslProvider server, SslProvider client) throws Exception {
        ServerTls tls = TestOptions.server(server, ecServer).with(o -> o.alpn = List.of("h2", "http/1.1")).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            assertThat(alpn(listener, client, List.of("h2", "http/1.1"))).isEqualTo("h2");
            assertThat(alpn(listener, client, List.of("http/1.1"))).isEqualTo("http/1.1");
            assertThat(alpn(listener, client, List.of("spdy/3.1"))).isNull();
        }
    }

    private static String alpn(TlsHarness.Server listener, SslProvider client, List<String> offer) throws Exception {
        SslContext context = TestOptions.client(client, b -> b.applicationProtocolConfig(
                new io.netty.handler.ssl.ApplicationProtocolConfig(io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                        io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, offer)));
        TlsHarness.Handshake handshake = harness.connect(listener.port(),
                TestOptions.handler(context, "www.example.com", listener.port()));
        assertThat(handshake.failure()).as("handshake offering " + offer).isNull();
        return handshake.alpn();
    }
}
