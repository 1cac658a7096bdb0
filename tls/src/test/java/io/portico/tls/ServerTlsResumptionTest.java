package io.portico.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Session resumption: caches, tickets, shared ticket keys across instances, rotation, client-auth boundaries. */
class ServerTlsResumptionTest {

    private static KeyMaterial material;
    private static TestPki.Issued clientCa;
    private static TestPki.Issued otherClientCa;
    private static KeyMaterial alice;
    private static TlsHarness harness;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        TestPki.Issued ca = TestPki.ca("Resumption Root", "EC");
        material = TestPki.material(TestPki.leaf(ca, "EC", "www.example.com"), ca.certificate());
        clientCa = TestPki.ca("Resumption Client Root", "EC");
        otherClientCa = TestPki.ca("Resumption Other Client Root", "EC");
        alice = TestPki.material(TestPki.clientLeaf(clientCa, "alice"), clientCa.certificate());
        harness = new TlsHarness();
    }

    @AfterAll
    static void tearDown() {
        harness.shutdown();
    }

    static Stream<Arguments> pairsAndProtocols() {
        return Stream.of(SslProvider.OPENSSL, SslProvider.JDK).flatMap(server ->
                Stream.of(SslProvider.OPENSSL, SslProvider.JDK).flatMap(client ->
                        Stream.of("TLSv1.3", "TLSv1.2")
                                // Neither JDK side tells whether a TLS 1.3 session was resumed.
                                .filter(protocol -> server == SslProvider.OPENSSL || client == SslProvider.OPENSSL
                                        || "TLSv1.2".equals(protocol))
                                .map(protocol -> Arguments.of(server, client, protocol))));
    }

    @ParameterizedTest(name = "server {0}, client {1}, {2}")
    @MethodSource("pairsAndProtocols")
    void resumesTheSessionOnTheNextConnection(SslProvider server, SslProvider client, String protocol) throws Exception {
        ServerTls tls = TestOptions.server(server, material)
                .with(o -> o.ticketKeys = server == SslProvider.OPENSSL ? TicketKeys.random(null) : null).buildTls();
        SslContext context = TestOptions.client(client, b -> b.protocols(protocol));
        try (TlsHarness.Server listener = harness.serve(tls)) {
            Outcome first = connect(listener, context, listener.port());
            Outcome second = connect(listener, context, listener.port());

            assertThat(first.resumed()).isFalse();
            assertThat(second.resumed()).isTrue();
            assertThat(second.client.protocol()).isEqualTo(protocol);
        }
    }

    static Stream<Arguments> clientsAndProtocols() {
        return Stream.of(
                Arguments.of(SslProvider.OPENSSL, "TLSv1.3"),
                Arguments.of(SslProvider.JDK, "TLSv1.3"),
                Arguments.of(SslProvider.JDK, "TLSv1.2"));
    }

    @ParameterizedTest(name = "client {0}, {1}")
    @MethodSource("clientsAndProtocols")
    void instancesSharingATicketKeyFileResumeEachOthersSessions(SslProvider client, String protocol) throws Exception {
        Path keyFile = randomKeyFile(80 * 2);
        ServerTls one = TestOptions.server(SslProvider.OPENSSL, material)
                .with(o -> o.ticketKeys = keys(keyFile)).buildTls();
        ServerTls two = TestOptions.server(SslProvider.OPENSSL, material)
                .with(o -> o.ticketKeys = keys(keyFile)).buildTls();
        SslContext context = TestOptions.client(client, b -> b.protocols(protocol));
        try (TlsHarness.Server first = harness.serve(one); TlsHarness.Server second = harness.serve(two)) {
            Outcome full = connect(first, context, first.port());
            // The client files the session under the first instance's port and offers it to the second.
            Outcome resumed = connect(second, context, first.port());

            assertThat(full.resumed()).isFalse();
            assertThat(resumed.resumed()).isTrue();
        }
    }

    @Test
    void instancesWithTheirOwnKeysDoNotResumeEachOthersSessions() throws Exception {
        ServerTls one = TestOptions.server(SslProvider.OPENSSL, material).with(o -> o.ticketKeys = TicketKeys.random(null)).buildTls();
        ServerTls two = TestOptions.server(SslProvider.OPENSSL, material).with(o -> o.ticketKeys = TicketKeys.random(null)).buildTls();
        SslContext context = TestOptions.client(SslProvider.OPENSSL);
        try (TlsHarness.Server first = harness.serve(one); TlsHarness.Server second = harness.serve(two)) {
            connect(first, context, first.port());

            assertThat(connect(second, context, first.port()).resumed()).isFalse();
        }
    }

    @Test
    void ticketsOutliveOneRotationButNotTwo() throws Exception {
        TicketKeys keys = TicketKeys.random(null);
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, material).with(o -> o.ticketKeys = keys).buildTls();
        SslContext context = TestOptions.client(SslProvider.OPENSSL);
        try (TlsHarness.Server listener = harness.serve(tls)) {
            connect(listener, context, listener.port());
            keys.rotate();
            Outcome afterOne = connect(listener, context, listener.port());
            keys.rotate();
            keys.rotate();
            Outcome afterThree = connect(listener, context, listener.port());

            assertThat(afterOne.resumed()).isTrue();
            assertThat(afterThree.resumed()).isFalse();
        }
    }

    @ParameterizedTest(name = "client {0}, {1}")
    @MethodSource("clientsAndProtocols")
    void aSessionFromAListenerWithoutClientAuthDoesNotResumeWhereACertificateIsRequired(SslProvider client,
                                                                                         String protocol) throws Exception {
        Path keyFile = randomKeyFile(80);
        ServerTls open = TestOptions.server(SslProvider.OPENSSL, material)
                .with(o -> o.ticketKeys = keys(keyFile)).buildTls();
        ServerTls mtls = TestOptions.server(SslProvider.OPENSSL, material).with(o -> {
            o.ticketKeys = keys(keyFile);
            o.clientAuth = ClientAuth.REQUIRE;
            o.clientCa = List.of(clientCa.certificate());
        }).buildTls();
        SslContext anonymous = TestOptions.client(client, b -> b.protocols(protocol));
        SslContext withCertificate = TestOptions.client(client,
                b -> b.protocols(protocol).keyManager(alice.key(), alice.chain()));
        try (TlsHarness.Server a = harness.serve(open); TlsHarness.Server b = harness.serve(mtls)) {
            connect(a, anonymous, a.port());
            connect(a, withCertificate, a.port());
            // Both clients offer the session the open listener gave them.
            TlsHarness.Handshake anonymousOnB = harness.connect(b.port(),
                    TestOptions.handler(anonymous, "www.example.com", a.port()));
            TlsHarness.Handshake anonymousSeen = b.next();
            Outcome aliceOnB = connect(b, withCertificate, a.port());

            assertThat(anonymousOnB.succeeded()).isFalse();
            assertThat(anonymousSeen.succeeded()).isFalse();
            assertThat(aliceOnB.resumed()).isFalse();
            assertThat(aliceOnB.server.peerCertificate()).isEqualTo(alice.leaf());
        }
    }

    @ParameterizedTest(name = "client {0}, {1}")
    @MethodSource("clientsAndProtocols")
    void listenersWithTheSameClientAuthPolicyResumeEachOthersSessions(SslProvider client, String protocol)
            throws Exception {
        TicketKeys keys = TicketKeys.random(null);
        ServerTls one = mtls(keys, clientCa);
        ServerTls two = mtls(keys, clientCa);
        SslContext context = TestOptions.client(client,
                b -> b.protocols(protocol).keyManager(alice.key(), alice.chain()));
        try (TlsHarness.Server first = harness.serve(one); TlsHarness.Server second = harness.serve(two)) {
            Outcome full = connect(first, context, first.port());
            Outcome resumed = connect(second, context, first.port());

            assertThat(full.resumed()).isFalse();
            assertThat(resumed.resumed()).isTrue();
            assertThat(resumed.server.peerCertificate()).isEqualTo(alice.leaf());
        }
    }

    @ParameterizedTest(name = "client {0}, {1}")
    @MethodSource("clientsAndProtocols")
    void aReloadThatRemovesTheClientCaEndsResumptionOfSessionsItVerified(SslProvider client, String protocol)
            throws Exception {
        // A reload keeps the listener's ticket keys: the rebuilt contexts get the same instance.
        TicketKeys keys = TicketKeys.random(null);
        ServerTls before = mtls(keys, clientCa);
        ServerTls after = mtls(keys, otherClientCa);
        SslContext context = TestOptions.client(client,
                b -> b.protocols(protocol).keyManager(alice.key(), alice.chain()));
        try (TlsHarness.Server first = harness.serve(before); TlsHarness.Server second = harness.serve(after)) {
            Outcome full = connect(first, context, first.port());
            TlsHarness.Handshake offered = harness.connect(second.port(),
                    TestOptions.handler(context, "www.example.com", first.port()));
            TlsHarness.Handshake seen = second.next();

            assertThat(full.resumed()).isFalse();
            assertThat(full.server.peerCertificate()).isEqualTo(alice.leaf());
            assertThat(offered.succeeded()).isFalse();
            assertThat(seen.succeeded()).isFalse();
        }
    }

    @Test
    void theSessionIdContextDependsOnThePolicyAndEveryClientCa() throws Exception {
        List<X509Certificate> one = List.of(clientCa.certificate());
        List<X509Certificate> both = List.of(clientCa.certificate(), otherClientCa.certificate());

        assertThat(ServerTls.sessionIdContext(ClientAuth.REQUIRE, one)).hasSize(32)
                .isEqualTo(ServerTls.sessionIdContext(ClientAuth.REQUIRE, List.of(clientCa.certificate())))
                .isNotEqualTo(ServerTls.sessionIdContext(ClientAuth.OPTIONAL, one))
                .isNotEqualTo(ServerTls.sessionIdContext(ClientAuth.REQUIRE, both))
                .isNotEqualTo(ServerTls.sessionIdContext(ClientAuth.NONE, List.of()));
        // Without client auth the CAs are not used, so they do not separate listeners either.
        assertThat(ServerTls.sessionIdContext(ClientAuth.NONE, one))
                .isEqualTo(ServerTls.sessionIdContext(ClientAuth.NONE, List.of()));
    }

    /** OpenSSL only: SunJSSE restarts a session's clock with each resumption's new ticket. */
    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
    void aSessionResumesForTheSessionTimeoutAfterItsFullHandshakeAndNoLonger(String protocol) throws Exception {
        // BoringSSL counts whole seconds: 3 s leaves the first resumption 2 s to happen in.
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, material).with(o -> {
            o.ticketKeys = TicketKeys.random(null);
            o.sessionTimeout = Duration.ofSeconds(3);
        }).buildTls();
        SslContext context = TestOptions.client(SslProvider.OPENSSL, b -> b.protocols(protocol));
        try (TlsHarness.Server listener = harness.serve(tls)) {
            long start = System.nanoTime();
            Outcome full = connect(listener, context, listener.port());
            Outcome soon = connect(listener, context, listener.port());

            assertThat(full.resumed()).isFalse();
            assertThat(soon.resumed()).isTrue();
            // Each resumption made meanwhile hands out new tickets; they must not extend the session.
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(250))
                    .until(() -> !connect(listener, context, listener.port()).resumed());
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
        }
    }

    @Test
    void ticketKeysWithTheJdkProviderAreIgnoredWithAWarning() throws Exception {
        ServerTls tls = TestOptions.server(SslProvider.JDK, material).with(o -> o.ticketKeys = TicketKeys.random(null)).buildTls();

        assertThat(tls.warnings()).anyMatch(w -> w.contains("are ignored with the JDK provider"));
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void appliesSessionCacheSizeAndTimeout(SslProvider provider) throws Exception {
        ServerTls tls = TestOptions.server(provider, material).with(o -> {
            o.sessionCacheSize = 1234;
            o.sessionTimeout = Duration.ofMinutes(7);
        }).buildTls();

        assertThat(tls.defaultContext().sessionContext().getSessionCacheSize()).isEqualTo(1234);
        assertThat(tls.defaultContext().sessionContext().getSessionTimeout()).isEqualTo(420);
    }

    private static ServerTls mtls(TicketKeys keys, TestPki.Issued ca) throws TlsConfigException {
        return TestOptions.server(SslProvider.OPENSSL, material).with(o -> {
            o.ticketKeys = keys;
            o.clientAuth = ClientAuth.REQUIRE;
            o.clientCa = List.of(ca.certificate());
        }).buildTls();
    }

    private Path randomKeyFile(int bytes) throws Exception {
        byte[] key = new byte[bytes];
        new SecureRandom().nextBytes(key);
        return Files.write(dir.resolve("ticket-" + Arrays.hashCode(key) + ".key"), key);
    }

    private static TicketKeys keys(Path file) {
        try {
            return TicketKeys.fromFile(file);
        } catch (TlsConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Both sides' view of one connection. */
    private record Outcome(TlsHarness.Handshake client, TlsHarness.Handshake server, byte[] previousSessionId) {
        /** Asks whichever side can tell: an OpenSSL engine directly, else (TLS 1.2, JDK both sides) the session id. */
        boolean resumed() {
            assertThat(client.failure()).isNull();
            if (client.reused() != null) {
                return client.reused();
            }
            if (server.reused() != null) {
                return server.reused();
            }
            return previousSessionId != null && Arrays.equals(previousSessionId, client.sessionId());
        }
    }

    private byte[] lastSessionId;

    private Outcome connect(TlsHarness.Server listener, SslContext context, int cachePort) throws Exception {
        TlsHarness.Handshake client = harness.connect(listener.port(),
                TestOptions.handler(context, "www.example.com", cachePort));
        TlsHarness.Handshake server = listener.next();
        Outcome outcome = new Outcome(client, server, lastSessionId);
        lastSessionId = client.sessionId();
        return outcome;
    }
}
