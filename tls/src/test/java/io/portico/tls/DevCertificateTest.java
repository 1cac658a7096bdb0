package io.portico.tls;

import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.interfaces.ECKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DevCertificateTest {

    @TempDir
    Path dir;

    @Test
    void createsASelfSignedP256CertificateForLocalhost() throws Exception {
        KeyMaterial material = DevCertificate.loadOrCreate(dir.resolve("tls"));

        assertThat(material.keyType()).isEqualTo("EC");
        assertThat(((ECKey) material.key()).getParams().getCurve().getField().getFieldSize()).isEqualTo(256);
        assertThat(material.names()).containsExactly("localhost");
        assertThat(material.leaf().getSubjectAlternativeNames()).extracting(entry -> (Object) entry.get(1))
                .containsExactly("localhost", "127.0.0.1", InetAddress.getByName("::1").getHostAddress());
        assertThat(material.leaf().getIssuerX500Principal()).isEqualTo(material.leaf().getSubjectX500Principal());
        assertThat(Duration.between(material.leaf().getNotBefore().toInstant(), material.leaf().getNotAfter().toInstant()))
                .isBetween(Duration.ofDays(365), Duration.ofDays(366));
        assertThat(material.warnings()).isEmpty();
        assertThat(Files.getPosixFilePermissions(dir.resolve("tls/portico-dev.key")))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(dir.resolve("tls/portico-dev.key"))).startsWith("-----BEGIN PRIVATE KEY-----");
    }

    @Test
    void reusesTheCertificateOnTheNextCall() throws Exception {
        KeyMaterial first = DevCertificate.loadOrCreate(dir);
        KeyMaterial second = DevCertificate.loadOrCreate(dir);

        assertThat(second.leaf()).isEqualTo(first.leaf());
    }

    @Test
    void replacesAnExpiredCertificate() throws Exception {
        TestPki.Issued ca = TestPki.ca("Old", "EC");
        Instant now = Instant.now();
        TestPki.Issued expired = TestPki.leaf(ca, "EC", now.minus(Duration.ofDays(400)), now.minus(Duration.ofDays(35)),
                false, "localhost");
        TestPki.writeCertificates(dir.resolve("portico-dev.crt"), expired.certificate());
        TestPki.writePkcs8Key(dir.resolve("portico-dev.key"), expired.key());

        KeyMaterial renewed = DevCertificate.loadOrCreate(dir);

        assertThat(renewed.leaf()).isNotEqualTo(expired.certificate());
        assertThat(renewed.leaf().getNotAfter().toInstant()).isAfter(now.plus(Duration.ofDays(300)));
    }

    @Test
    void servesHttpsThatAClientTrustingItAcceptsForLocalhost() throws Exception {
        KeyMaterial material = DevCertificate.loadOrCreate(dir);
        ClientTls client = ClientTls.build(new ClientTlsOptions(SslProvider.JDK, List.of(material.leaf()), true, null,
                List.of(), List.of()));
        try (TlsHarness harness = new TlsHarness();
             TlsHarness.Server server = harness.serve(TestOptions.server(SslProvider.OPENSSL, material).buildTls())) {
            TlsHarness.Handshake byName = harness.connect(server.port(), ch -> client.newHandler(ch.alloc(), "localhost", server.port()));
            TlsHarness.Handshake byAddress = harness.connect(server.port(), ch -> client.newHandler(ch.alloc(), "127.0.0.1", server.port()));

            assertThat(byName.failure()).isNull();
            assertThat(byAddress.failure()).isNull();
        }
    }
}
