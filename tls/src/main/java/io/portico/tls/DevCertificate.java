package io.portico.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * The development certificate: self-signed, ECDSA P-256, valid for a year, for {@code localhost},
 * {@code 127.0.0.1} and {@code ::1}. Kept as {@code portico-dev.crt} and {@code portico-dev.key}
 * (PKCS#8, mode 0600 where the file system has POSIX permissions) so that a browser or curl can be
 * told to trust it once.
 */
public final class DevCertificate {

    static final String CERTIFICATE_FILE = "portico-dev.crt";
    static final String KEY_FILE = "portico-dev.key";
    static final Duration VALIDITY = Duration.ofDays(365);
    /** Regenerate a little before expiry so that a long-running dev server does not cross it. */
    private static final Duration RENEW_BEFORE = Duration.ofDays(1);

    private DevCertificate() {
    }

    /** Loads {@code dir/portico-dev.crt} and {@code dir/portico-dev.key}, generating them first when missing, unreadable or expired. */
    public static KeyMaterial loadOrCreate(Path dir) throws TlsConfigException {
        Path certificate = dir.resolve(CERTIFICATE_FILE);
        Path key = dir.resolve(KEY_FILE);
        if (Files.isRegularFile(certificate) && Files.isRegularFile(key)) {
            try {
                KeyMaterial existing = KeyMaterial.loadPem(certificate, key, null);
                if (stillUsable(existing)) {
                    return existing;
                }
            } catch (TlsConfigException e) {
                // A damaged development pair is replaced rather than reported: nothing else uses these files.
            }
        }
        generate(certificate, key);
        return KeyMaterial.loadPem(certificate, key, null);
    }

    private static boolean stillUsable(KeyMaterial material) {
        X509Certificate leaf = material.leaf();
        Instant now = Instant.now();
        return !now.isBefore(leaf.getNotBefore().toInstant())
                && now.plus(RENEW_BEFORE).isBefore(leaf.getNotAfter().toInstant())
                && material.names().contains("localhost");
    }

    private static void generate(Path certificateFile, Path keyFile) throws TlsConfigException {
        String certificatePem;
        String keyPem;
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            X500Name subject = new X500Name("CN=localhost,O=Portico development certificate");
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
                    new BigInteger(127, new SecureRandom()).add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), subject, pair.getPublic());
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                    new GeneralName(GeneralName.iPAddress, "::1")}));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                    extensions.createSubjectKeyIdentifier(pair.getPublic()));
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            certificatePem = pem(certificate);
            keyPem = pem(new JcaPKCS8Generator(pair.getPrivate(), null));
        } catch (GeneralSecurityException | IOException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new TlsConfigException("cannot generate the development certificate: " + e.getMessage(), e);
        }
        try {
            Files.createDirectories(certificateFile.toAbsolutePath().getParent());
            writeAtomically(keyFile, keyPem, true);
            writeAtomically(certificateFile, certificatePem, false);
        } catch (IOException e) {
            throw new TlsConfigException("cannot write the development certificate to "
                    + certificateFile.toAbsolutePath().getParent() + ": " + e.getMessage(), e);
        }
    }

    private static String pem(Object object) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        }
        return out.toString();
    }

    private static void writeAtomically(Path target, String content, boolean secret) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp;
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            temp = Files.createTempFile(dir, target.getFileName().toString(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
        } else {
            temp = Files.createTempFile(dir, target.getFileName().toString(), ".tmp");
        }
        try {
            Files.write(temp, List.of(content.strip()), StandardCharsets.US_ASCII);
            try {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}
