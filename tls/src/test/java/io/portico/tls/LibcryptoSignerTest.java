package io.portico.tls;

import io.netty.handler.ssl.OpenSslPrivateKeyMethod;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * RSA handshake signatures made by the system's OpenSSL through {@link LibcryptoSigner}: each TLS
 * scheme verifies with the JDK, and real TLS 1.3 and 1.2 handshakes (including the RSA key
 * exchange, which decrypts) succeed with it in place of BoringSSL.
 */
class LibcryptoSignerTest {

    private static TestPki.Issued ca;
    private static TestPki.Issued rsaLeaf;
    private static KeyMaterial rsaServer;
    private static TlsHarness harness;

    @BeforeAll
    static void setUp() {
        // The shim needs Linux, gcc at build time and the system's libcrypto.so.3: Debian and the CI
        // machine have all three, and there it must work; elsewhere there is nothing to test.
        boolean systemHasLibcrypto = Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"))
                || Files.exists(Path.of("/usr/lib/aarch64-linux-gnu/libcrypto.so.3"));
        assumeTrue(systemHasLibcrypto, "no Debian-style libcrypto.so.3 on this machine");
        String shim = LibcryptoSigner.nativeResource();
        assumeTrue(shim != null, "the JNI shim is only built for Linux on x86_64 and aarch64");
        assumeTrue(LibcryptoSigner.class.getResource(shim) != null,
                "the JNI shim was not built (no gcc when this build ran; .ci/run installs it)");
        assertThat(LibcryptoSigner.unavailableReason()).as("why libcrypto signing is unavailable").isNull();
        ca = TestPki.ca("Libcrypto Root", "RSA");
        rsaLeaf = TestPki.leaf(ca, "RSA", "rsa.example.com");
        rsaServer = TestPki.material(rsaLeaf, ca.certificate());
        harness = new TlsHarness();
    }

    /** The library's file goes once it is loaded: none is left in the temp directory by this process. */
    @Test
    void theLoadedLibraryLeavesNoFileBehind() throws Exception {
        long started = ProcessHandle.current().info().startInstant().orElseThrow().toEpochMilli();
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(files.filter(f -> f.getFileName().toString().startsWith("portico-libcrypto"))
                    .filter(f -> f.toFile().lastModified() >= started - 1000))
                    .as("portico-libcrypto files written since this JVM started")
                    .isEmpty();
        }
    }

    @AfterAll
    static void tearDown() {
        if (harness != null) {
            harness.shutdown();
        }
    }

    @Test
    void theSchemeCodesAreNettys() {
        assertThat(List.of(OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PKCS1_SHA1, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PKCS1_SHA256,
                OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PKCS1_SHA384, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PKCS1_SHA512,
                OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA256, OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA384,
                OpenSslPrivateKeyMethod.SSL_SIGN_RSA_PSS_RSAE_SHA512))
                .containsExactly(0x0201, 0x0401, 0x0501, 0x0601, 0x0804, 0x0805, 0x0806);
    }

    static Stream<Arguments> schemes() {
        return Stream.of(
                Arguments.of(0x0201, "SHA1withRSA", null),
                Arguments.of(0x0401, "SHA256withRSA", null),
                Arguments.of(0x0501, "SHA384withRSA", null),
                Arguments.of(0x0601, "SHA512withRSA", null),
                Arguments.of(0x0804, "RSASSA-PSS", new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1)),
                Arguments.of(0x0805, "RSASSA-PSS", new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 48, 1)),
                Arguments.of(0x0806, "RSASSA-PSS", new PSSParameterSpec("SHA-512", "MGF1", MGF1ParameterSpec.SHA512, 64, 1)));
    }

    @ParameterizedTest(name = "scheme 0x{0}")
    @MethodSource("schemes")
    void signaturesVerifyWithTheJdk(int scheme, String jdkAlgorithm, PSSParameterSpec pss) throws Exception {
        KeyPair pair = rsaLeaf.pair();
        LibcryptoSigner signer = LibcryptoSigner.forKey(pair.getPrivate(), "test key");
        byte[] input = " TLS 1.3, server CertificateVerify\0 handshake hash".getBytes(StandardCharsets.ISO_8859_1);

        byte[] signature = signer.sign(null, scheme, input);

        Signature verifier = Signature.getInstance(jdkAlgorithm);
        if (pss != null) {
            verifier.setParameter(pss);
        }
        verifier.initVerify(pair.getPublic());
        verifier.update(input);
        assertThat(verifier.verify(signature)).isTrue();
        input[0] ^= 1;
        verifier.update(input);
        assertThat(verifier.verify(signature)).as("a changed input does not verify").isFalse();
    }

    @Test
    void refusesSchemesThatAreNotRsa() throws Exception {
        LibcryptoSigner signer = LibcryptoSigner.forKey(rsaLeaf.key(), "test key");

        assertThatThrownBy(() -> signer.sign(null, OpenSslPrivateKeyMethod.SSL_SIGN_ECDSA_SECP256R1_SHA256, new byte[32]))
                .isInstanceOf(SignatureException.class);
        assertThatThrownBy(() -> LibcryptoSigner.forKey(TestPki.keyPair("EC").getPrivate(), "an EC key"))
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("only for RSA keys");
    }

    @ParameterizedTest(name = "client {0}")
    @EnumSource(value = SslProvider.class, names = {"OPENSSL", "JDK"})
    void tls13AndTls12HandshakesAreSignedByLibcrypto(SslProvider client) throws Exception {
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, rsaServer).with(o -> o.libcryptoRsa = true).buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            long before = LibcryptoSigner.signatures();

            TlsHarness.Handshake tls13 = harness.connect(listener.port(),
                    TestOptions.handler(TestOptions.client(client), "rsa.example.com", listener.port()));
            TlsHarness.Handshake tls12 = harness.connect(listener.port(), TestOptions.handler(
                    TestOptions.client(client, b -> b.protocols("TLSv1.2")), "rsa.example.com", listener.port()));

            assertThat(tls13.failure()).isNull();
            assertThat(tls13.protocol()).isEqualTo("TLSv1.3");
            assertThat(tls13.peerCertificate()).isEqualTo(rsaServer.leaf());
            assertThat(tls12.failure()).isNull();
            assertThat(tls12.protocol()).isEqualTo("TLSv1.2");
            assertThat(LibcryptoSigner.signatures() - before).as("signatures made by libcrypto").isEqualTo(2);
        }
    }

    @Test
    void theRsaKeyExchangeDecryptsThroughLibcrypto() throws Exception {
        List<String> rsaKeyExchange = List.of("TLS_RSA_WITH_AES_128_GCM_SHA256");
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, rsaServer)
                .with(o -> {
                    o.libcryptoRsa = true;
                    o.protocols = List.of("TLSv1.2");
                    o.ciphers = rsaKeyExchange;
                })
                .buildTls();
        try (TlsHarness.Server listener = harness.serve(tls)) {
            SslContext client = TestOptions.client(SslProvider.OPENSSL, b -> b.protocols("TLSv1.2").ciphers(rsaKeyExchange));
            long before = LibcryptoSigner.signatures();

            TlsHarness.Handshake handshake = harness.connect(listener.port(),
                    TestOptions.handler(client, "rsa.example.com", listener.port()));

            assertThat(handshake.failure()).isNull();
            assertThat(handshake.cipher()).isEqualTo("TLS_RSA_WITH_AES_128_GCM_SHA256");
            assertThat(LibcryptoSigner.signatures()).as("no signature in an RSA key exchange").isEqualTo(before);
        }
    }

    @Test
    void autoFollowsTheCpuAndProviderNeverUsesLibcrypto() throws Exception {
        assertThat(LibcryptoSigner.decide("provider", true).libcrypto()).isFalse();
        assertThat(LibcryptoSigner.decide("auto", false).libcrypto()).isFalse();
        assertThat(LibcryptoSigner.decide("auto", true).libcrypto()).isEqualTo(LibcryptoSigner.cpuHasIfma());
        assertThat(LibcryptoSigner.decide("libcrypto", true).libcrypto()).isTrue();
        assertThatThrownBy(() -> LibcryptoSigner.decide("libcrypto", false))
                .isInstanceOf(TlsConfigException.class).hasMessageContaining("openssl TLS provider");
    }
}
