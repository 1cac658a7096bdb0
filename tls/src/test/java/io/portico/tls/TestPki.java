package io.portico.tls;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMEncryptorBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Certificates made on the fly with BouncyCastle: a CA, intermediates, leaves, and their files in every format. */
final class TestPki {

    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    /** A certificate and its key. */
    record Issued(X509Certificate certificate, PrivateKey key, KeyPair pair) {
    }

    private static final java.util.Map<X509Certificate, Issued> ISSUERS = new java.util.concurrent.ConcurrentHashMap<>();

    /** The issuer a leaf was signed by in this run. */
    static Issued intermediateOf(Issued leaf) {
        return ISSUERS.get(leaf.certificate());
    }

    private TestPki() {
    }

    static KeyPair keyPair(String type) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(type);
            if ("EC".equals(type)) {
                generator.initialize(new ECGenParameterSpec("secp256r1"));
            } else {
                generator.initialize(2048);
            }
            return generator.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Issued ca(String name, String keyType) {
        KeyPair pair = keyPair(keyType);
        X500Name subject = new X500Name("CN=" + name);
        Instant now = Instant.now();
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(3650))), subject,
                    pair.getPublic());
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()));
            return new Issued(sign(builder, pair.getPrivate()), pair.getPrivate(), pair);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Issued intermediate(Issued issuer, String name) {
        KeyPair pair = keyPair("EC");
        Instant now = Instant.now();
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer.certificate(), serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(3650))),
                    new X500Name("CN=" + name), pair.getPublic());
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    extensions.createAuthorityKeyIdentifier(issuer.certificate()));
            return new Issued(sign(builder, issuer.key()), pair.getPrivate(), pair);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Issued leaf(Issued issuer, String keyType, String... dnsNames) {
        Instant now = Instant.now();
        return leaf(issuer, keyType, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(90)), false, dnsNames);
    }

    static Issued clientLeaf(Issued issuer, String name) {
        Instant now = Instant.now();
        return leaf(issuer, "EC", now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(90)), true, name);
    }

    static Issued leaf(Issued issuer, String keyType, Instant notBefore, Instant notAfter, boolean client,
                       String... dnsNames) {
        KeyPair pair = keyPair(keyType);
        String cn = dnsNames.length > 0 ? dnsNames[0] : "no-san";
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer.certificate(), serial(),
                    Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + cn), pair.getPublic());
            if (dnsNames.length > 0) {
                List<GeneralName> names = new ArrayList<>();
                for (String name : dnsNames) {
                    names.add(new GeneralName(Character.isDigit(name.charAt(0)) ? GeneralName.iPAddress : GeneralName.dNSName, name));
                }
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(names.toArray(new GeneralName[0])));
            }
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(
                    "RSA".equals(keyType) ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment : KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(client ? KeyPurposeId.id_kp_clientAuth : KeyPurposeId.id_kp_serverAuth));
            Issued issued = new Issued(sign(builder, issuer.key()), pair.getPrivate(), pair);
            ISSUERS.put(issued.certificate(), issuer);
            return issued;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A leaf whose subject has a CN but that has no SAN extension at all. */
    static Issued leafWithoutSan(Issued issuer, String cn) {
        KeyPair pair = keyPair("EC");
        Instant now = Instant.now();
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer.certificate(), serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(90))),
                    new X500Name("CN=" + cn), pair.getPublic());
            return new Issued(sign(builder, issuer.key()), pair.getPrivate(), pair);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static KeyMaterial material(Issued leaf, X509Certificate... issuers) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(leaf.certificate());
        chain.addAll(List.of(issuers));
        try {
            return KeyMaterial.of(leaf.key(), chain, "test " + leaf.certificate().getSubjectX500Principal().getName());
        } catch (TlsConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    static Path writeCertificates(Path file, X509Certificate... certificates) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            for (X509Certificate certificate : certificates) {
                writer.writeObject(certificate);
            }
        }
        Files.writeString(file, out.toString(), StandardCharsets.US_ASCII);
        return file;
    }

    /**
     * PKCS#1 ("RSA PRIVATE KEY") for RSA keys, SEC1 ("EC PRIVATE KEY") for EC keys, the latter with
     * curve and public key as OpenSSL writes it (the JDK's own encoding carries neither).
     */
    static Path writeTraditionalKey(Path file, KeyPair pair) throws Exception {
        if (!"EC".equals(pair.getPrivate().getAlgorithm())) {
            return writePem(file, pair.getPrivate());
        }
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(pair.getPrivate().getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        SubjectPublicKeyInfo publicKey = SubjectPublicKeyInfo.getInstance(pair.getPublic().getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(),
                publicKey.getPublicKeyData(), info.getPrivateKeyAlgorithm().getParameters());
        return writePem(file, new PemObject("EC PRIVATE KEY", sec1.getEncoded()));
    }

    static Path writePkcs8Key(Path file, PrivateKey key) throws Exception {
        return writePem(file, new JcaPKCS8Generator(key, null));
    }

    static Path writeEncryptedPkcs8Key(Path file, PrivateKey key, char[] password) throws Exception {
        return writePem(file, new JcaPKCS8Generator(key, new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                .setProvider(Pem.bouncyCastle()).setPassword(password).build()));
    }

    /** OpenSSL's legacy "Proc-Type: 4,ENCRYPTED" PKCS#1/SEC1 block. */
    static Path writeLegacyEncryptedKey(Path file, PrivateKey key, char[] password) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(key, new JcePEMEncryptorBuilder("AES-128-CBC").setProvider(Pem.bouncyCastle()).build(password));
        }
        Files.writeString(file, out.toString(), StandardCharsets.US_ASCII);
        return file;
    }

    static Path writePkcs12(Path file, PrivateKey key, char[] password, X509Certificate... chain) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("server", key, password, chain);
        try (OutputStream out = Files.newOutputStream(file)) {
            store.store(out, password);
        }
        return file;
    }

    /** A "good" OCSP response for the leaf, signed by its issuer. */
    static byte[] ocspResponse(Issued issuer, X509Certificate leaf) throws Exception {
        CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                new JcaX509CertificateHolder(issuer.certificate()), leaf.getSerialNumber());
        BasicOCSPRespBuilder builder = new BasicOCSPRespBuilder(
                new RespID(new JcaX509CertificateHolder(issuer.certificate()).getSubject()));
        Instant now = Instant.now();
        builder.addResponse(id, CertificateStatus.GOOD, Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(7))));
        String algorithm = "EC".equals(issuer.key().getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
        return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, builder.build(
                new JcaContentSignerBuilder(algorithm).build(issuer.key()), null, Date.from(now))).getEncoded();
    }

    private static Path writePem(Path file, Object object) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        }
        Files.writeString(file, out.toString(), StandardCharsets.US_ASCII);
        return file;
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) throws Exception {
        String algorithm = "EC".equals(issuerKey.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)));
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet()).add(new BigInteger(32, new SecureRandom()).shiftLeft(64));
    }
}
