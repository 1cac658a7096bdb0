package io.portico.tls;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;


import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyMaterialTest {

    private static final char[] PASSWORD = "s3cret-pass".toCharArray();

    private static TestPki.Issued ca;
    private static TestPki.Issued intermediate;
    private static TestPki.Issued rsaLeaf;
    private static TestPki.Issued ecLeaf;

    @TempDir
    Path dir;

    @BeforeAll
    static void pki() {
        ca = TestPki.ca("Test Root", "EC");
        intermediate = TestPki.intermediate(ca, "Test Intermediate");
        rsaLeaf = TestPki.leaf(intermediate, "RSA", "WWW.Example.com", "example.com");
        ecLeaf = TestPki.leaf(intermediate, "EC", "api.example.com", "*.api.example.com");
    }

    @Test
    void loadsRsaChainWithPkcs1Key() throws Exception {
        KeyMaterial material = KeyMaterial.loadPem(chain(rsaLeaf), TestPki.writeTraditionalKey(dir.resolve("k.pem"), rsaLeaf.pair()), null);

        assertThat(Files.readString(dir.resolve("k.pem"))).contains("BEGIN RSA PRIVATE KEY");
        assertThat(material.keyType()).isEqualTo("RSA");
        assertThat(material.chain()).containsExactly(rsaLeaf.certificate(), intermediate.certificate());
        assertThat(material.names()).containsExactly("www.example.com", "example.com");
        assertThat(material.warnings()).isEmpty();
    }

    @Test
    void loadsRsaPkcs8Key() throws Exception {
        KeyMaterial material = KeyMaterial.loadPem(chain(rsaLeaf), TestPki.writePkcs8Key(dir.resolve("k.pem"), rsaLeaf.key()), null);

        assertThat(Files.readString(dir.resolve("k.pem"))).contains("BEGIN PRIVATE KEY");
        assertThat(material.key().getEncoded()).isEqualTo(rsaLeaf.key().getEncoded());
    }

    @Test
    void loadsEcSec1Key() throws Exception {
        KeyMaterial material = KeyMaterial.loadPem(chain(ecLeaf), TestPki.writeTraditionalKey(dir.resolve("k.pem"), ecLeaf.pair()), null);

        assertThat(Files.readString(dir.resolve("k.pem"))).contains("BEGIN EC PRIVATE KEY");
        assertThat(material.keyType()).isEqualTo("EC");
        assertThat(material.names()).containsExactly("api.example.com", "*.api.example.com");
    }

    @Test
    void loadsEcPkcs8Key() throws Exception {
        KeyMaterial material = KeyMaterial.loadPem(chain(ecLeaf), TestPki.writePkcs8Key(dir.resolve("k.pem"), ecLeaf.key()), null);

        assertThat(material.keyType()).isEqualTo("EC");
    }

    @Test
    void loadsEncryptedPkcs8KeyWithTheRightPassword() throws Exception {
        Path key = TestPki.writeEncryptedPkcs8Key(dir.resolve("k.pem"), rsaLeaf.key(), PASSWORD);

        KeyMaterial material = KeyMaterial.loadPem(chain(rsaLeaf), key, PASSWORD);

        assertThat(Files.readString(key)).contains("BEGIN ENCRYPTED PRIVATE KEY");
        assertThat(material.key().getEncoded()).isEqualTo(rsaLeaf.key().getEncoded());
    }

    @Test
    void rejectsEncryptedPkcs8KeyWithAWrongPassword() throws Exception {
        Path key = TestPki.writeEncryptedPkcs8Key(dir.resolve("k.pem"), ecLeaf.key(), PASSWORD);

        assertThatThrownBy(() -> KeyMaterial.loadPem(chain(ecLeaf), key, "wrong".toCharArray()))
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("wrong password")
                .hasMessageContaining(key.toString());
    }

    @Test
    void asksForAPasswordForAnEncryptedKey() throws Exception {
        Path key = TestPki.writeEncryptedPkcs8Key(dir.resolve("k.pem"), ecLeaf.key(), PASSWORD);

        assertThatThrownBy(() -> KeyMaterial.loadPem(chain(ecLeaf), key, null))
                .hasMessageContaining("is encrypted: a password is needed");
    }

    @Test
    void loadsLegacyOpenSslEncryptedKey() throws Exception {
        Path key = TestPki.writeLegacyEncryptedKey(dir.resolve("k.pem"), rsaLeaf.key(), PASSWORD);

        assertThat(Files.readString(key)).contains("Proc-Type: 4,ENCRYPTED");
        assertThat(KeyMaterial.loadPem(chain(rsaLeaf), key, PASSWORD).keyType()).isEqualTo("RSA");
        assertThatThrownBy(() -> KeyMaterial.loadPem(chain(rsaLeaf), key, "nope".toCharArray()))
                .hasMessageContaining("wrong password");
    }

    @Test
    void loadsCertificateAndKeyFromOneFile() throws Exception {
        Path both = dir.resolve("both.pem");
        TestPki.writePkcs8Key(dir.resolve("k.pem"), ecLeaf.key());
        Files.writeString(both, Files.readString(chain(ecLeaf)) + Files.readString(dir.resolve("k.pem")));

        KeyMaterial material = KeyMaterial.loadPem(both, both, null);

        assertThat(material.chain()).hasSize(2);
        assertThat(material.source()).isEqualTo(both.toString());
    }

    @Test
    void loadsPkcs12WithTheRightPasswordAndRejectsAWrongOne() throws Exception {
        Path p12 = TestPki.writePkcs12(dir.resolve("server.p12"), ecLeaf.key(), PASSWORD,
                ecLeaf.certificate(), intermediate.certificate());

        KeyMaterial material = KeyMaterial.loadPkcs12(p12, PASSWORD);

        assertThat(material.keyType()).isEqualTo("EC");
        assertThat(material.chain()).containsExactly(ecLeaf.certificate(), intermediate.certificate());
        assertThatThrownBy(() -> KeyMaterial.loadPkcs12(p12, "wrong".toCharArray()))
                .isInstanceOf(TlsConfigException.class)
                .hasMessageContaining("wrong password for " + p12);
    }

    @Test
    void namesBothFilesWhenTheKeyBelongsToAnotherCertificate() throws Exception {
        TestPki.Issued other = TestPki.leaf(intermediate, "RSA", "other.example.com");
        Path certificate = chain(rsaLeaf);
        Path key = TestPki.writePkcs8Key(dir.resolve("other.key"), other.key());

        assertThatThrownBy(() -> KeyMaterial.loadPem(certificate, key, null))
                .isInstanceOf(TlsConfigException.class)
                .hasMessage("the private key does not match the certificate in " + certificate + " and " + key
                        + " (their public keys differ; the leaf certificate must come first)");
    }

    @Test
    void rejectsAnEcKeyForAnEcCertificateItDidNotSign() throws Exception {
        TestPki.Issued other = TestPki.leaf(intermediate, "EC", "other.example.com");
        Path key = TestPki.writePkcs8Key(dir.resolve("other.key"), other.key());

        assertThatThrownBy(() -> KeyMaterial.loadPem(chain(ecLeaf), key, null))
                .hasMessageContaining("does not match the certificate");
    }

    @Test
    void rejectsAKeyOfAnotherTypeThanTheCertificate() throws Exception {
        Path key = TestPki.writePkcs8Key(dir.resolve("ec.key"), ecLeaf.key());

        assertThatThrownBy(() -> KeyMaterial.loadPem(chain(rsaLeaf), key, null))
                .hasMessageContaining("the key is EC but the certificate's key is RSA");
    }

    @Test
    void rejectsUnsupportedKeyTypes() throws Exception {
        java.security.KeyPair ed = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Path key = TestPki.writePkcs8Key(dir.resolve("ed.key"), ed.getPrivate());

        assertThatThrownBy(() -> KeyMaterial.loadPem(chain(rsaLeaf), key, null))
                .hasMessageContaining("unsupported private key type")
                .hasMessageContaining("use an RSA or EC");
    }

    @Test
    void explainsFilesWithoutCertificateOrKey() throws Exception {
        Path key = TestPki.writePkcs8Key(dir.resolve("k.pem"), ecLeaf.key());
        Path certificate = chain(ecLeaf);

        assertThatThrownBy(() -> KeyMaterial.loadPem(key, key, null))
                .hasMessageStartingWith("no certificate in " + key);
        assertThatThrownBy(() -> KeyMaterial.loadPem(certificate, certificate, null))
                .hasMessageStartingWith("no private key in " + certificate);
    }

    @Test
    void explainsAMissingFile() {
        Path missing = dir.resolve("missing.pem");

        assertThatThrownBy(() -> KeyMaterial.loadPem(missing, missing, null))
                .hasMessage("cannot read " + missing + ": no such file");
        assertThatThrownBy(() -> KeyMaterial.loadPkcs12(missing, PASSWORD))
                .hasMessage("cannot read " + missing + ": no such file");
    }

    @Test
    void warnsAboutAnExpiredCertificate() {
        Instant now = Instant.now();
        TestPki.Issued expired = TestPki.leaf(intermediate, "EC", now.minus(Duration.ofDays(100)),
                now.minus(Duration.ofDays(10)), false, "old.example.com");

        KeyMaterial material = TestPki.material(expired, intermediate.certificate());

        assertThat(material.warnings()).singleElement().asString()
                .startsWith("certificate for old.example.com in ")
                .contains("expired on " + expired.certificate().getNotAfter().toInstant());
    }

    @Test
    void warnsAboutACertificateNotYetValid() {
        Instant now = Instant.now();
        TestPki.Issued future = TestPki.leaf(intermediate, "EC", now.plus(Duration.ofDays(2)),
                now.plus(Duration.ofDays(100)), false, "new.example.com");

        assertThat(TestPki.material(future, intermediate.certificate()).warnings()).singleElement().asString()
                .contains("is not valid before " + future.certificate().getNotBefore().toInstant());
    }

    @Test
    void warnsWhenTheChainHasOnlyTheLeaf() throws Exception {
        Path leafOnly = TestPki.writeCertificates(dir.resolve("leaf.pem"), ecLeaf.certificate());

        KeyMaterial material = KeyMaterial.loadPem(leafOnly, TestPki.writePkcs8Key(dir.resolve("k.pem"), ecLeaf.key()), null);

        assertThat(material.warnings()).singleElement().asString()
                .contains("has only the leaf; clients that lack the intermediate")
                .contains("CN=Test Intermediate");
    }

    @Test
    void warnsAboutAChainOutOfOrder() {
        TestPki.Issued other = TestPki.intermediate(ca, "Unrelated Intermediate");

        assertThat(TestPki.material(ecLeaf, other.certificate()).warnings())
                .anyMatch(w -> w.contains("did not issue certificate 0"));
    }

    @Test
    void usesTheCommonNameWhenThereIsNoSubjectAlternativeName() {
        assertThat(TestPki.material(TestPki.leafWithoutSan(intermediate, "Legacy.Example.com"), intermediate.certificate())
                .names()).containsExactly("legacy.example.com");
    }

    @Test
    void coversNamesWithWildcardsOfOneLabel() {
        KeyMaterial material = TestPki.material(ecLeaf, intermediate.certificate());

        assertThat(material.covers("API.example.com")).isTrue();
        assertThat(material.covers("v1.api.example.com")).isTrue();
        assertThat(material.covers("a.v1.api.example.com")).isFalse();
        assertThat(material.covers("example.com")).isFalse();
    }

    @Test
    void loadsCaBundles() throws Exception {
        Path bundle = TestPki.writeCertificates(dir.resolve("ca.pem"), ca.certificate(), intermediate.certificate());
        Path empty = Files.writeString(dir.resolve("empty.pem"), "nothing here\n");

        assertThat(PemFiles.loadCertificates(bundle)).containsExactly(ca.certificate(), intermediate.certificate());
        assertThatThrownBy(() -> PemFiles.loadCertificates(empty)).hasMessageStartingWith("no certificate in " + empty);
    }

    private Path chain(TestPki.Issued leaf) throws Exception {
        return TestPki.writeCertificates(dir.resolve("chain-" + leaf.certificate().getSerialNumber() + ".pem"),
                leaf.certificate(), intermediate.certificate());
    }

}
