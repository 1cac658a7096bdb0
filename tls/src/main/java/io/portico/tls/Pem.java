package io.portico.tls;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.X509TrustedCertificateBlock;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** Reads PEM files with BouncyCastle: certificates, and private keys in every common encoding. */
final class Pem {

    private Pem() {
    }

    /** BouncyCastle as a provider instance, never registered globally: only for decrypting keys. */
    private static final class Bc {
        static final Provider PROVIDER = new BouncyCastleProvider();
    }

    static Provider bouncyCastle() {
        return Bc.PROVIDER;
    }

    /** Every CERTIFICATE (and TRUSTED CERTIFICATE) block in the file, in file order; possibly none. */
    static List<X509Certificate> certificates(Path file) throws TlsConfigException {
        List<X509Certificate> certificates = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (PEMParser parser = new PEMParser(open(file))) {
            Object object;
            while ((object = parser.readObject()) != null) {
                X509CertificateHolder holder = null;
                if (object instanceof X509CertificateHolder) {
                    holder = (X509CertificateHolder) object;
                } else if (object instanceof X509TrustedCertificateBlock) {
                    holder = ((X509TrustedCertificateBlock) object).getCertificateHolder();
                }
                if (holder != null) {
                    certificates.add(converter.getCertificate(holder));
                }
            }
        } catch (TlsConfigException e) {
            throw e;
        } catch (IOException | CertificateException | RuntimeException e) {
            throw new TlsConfigException("cannot parse " + file + ": " + e.getMessage(), e);
        }
        return certificates;
    }

    /**
     * The first private key in the file: PKCS#1 {@code RSA PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY},
     * PKCS#8 {@code PRIVATE KEY}, encrypted PKCS#8 {@code ENCRYPTED PRIVATE KEY}, or a legacy
     * OpenSSL-encrypted PKCS#1/SEC1 block ({@code Proc-Type: 4,ENCRYPTED}).
     */
    static PrivateKey privateKey(Path file, char[] password) throws TlsConfigException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (PEMParser parser = new PEMParser(open(file))) {
            Object object;
            while ((object = parser.readObject()) != null) {
                if (object instanceof PrivateKeyInfo) {
                    return converter.getPrivateKey((PrivateKeyInfo) object);
                }
                if (object instanceof PEMKeyPair) {
                    return converter.getPrivateKey(((PEMKeyPair) object).getPrivateKeyInfo());
                }
                if (object instanceof PKCS8EncryptedPrivateKeyInfo) {
                    requirePassword(file, password);
                    PrivateKeyInfo info;
                    try {
                        info = ((PKCS8EncryptedPrivateKeyInfo) object).decryptPrivateKeyInfo(
                                new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(bouncyCastle()).build(password));
                    } catch (Exception e) {
                        throw wrongPassword(file, e);
                    }
                    return converter.getPrivateKey(info);
                }
                if (object instanceof PEMEncryptedKeyPair) {
                    requirePassword(file, password);
                    PEMKeyPair pair;
                    try {
                        pair = ((PEMEncryptedKeyPair) object).decryptKeyPair(
                                new JcePEMDecryptorProviderBuilder().setProvider(bouncyCastle()).build(password));
                    } catch (Exception e) {
                        throw wrongPassword(file, e);
                    }
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (object instanceof ASN1ObjectIdentifier) {
                    continue; // an "EC PARAMETERS" block that OpenSSL writes before the key
                }
            }
        } catch (TlsConfigException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new TlsConfigException("cannot parse the private key in " + file + ": " + e.getMessage(), e);
        }
        throw new TlsConfigException("no private key in " + file
                + " (expected a PEM block: PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)");
    }

    private static void requirePassword(Path file, char[] password) throws TlsConfigException {
        if (password == null) {
            throw new TlsConfigException("the private key in " + file + " is encrypted: a password is needed");
        }
    }

    private static TlsConfigException wrongPassword(Path file, Exception cause) {
        return new TlsConfigException("wrong password for the private key in " + file + " (or the key is damaged)", cause);
    }

    private static Reader open(Path file) throws TlsConfigException {
        try {
            // ISO-8859-1 never fails on stray bytes; PEM itself is ASCII.
            return Files.newBufferedReader(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw unreadable(file, e);
        }
    }

    static TlsConfigException unreadable(Path file, IOException e) {
        String reason;
        if (e instanceof NoSuchFileException) {
            reason = "no such file";
        } else if (e instanceof AccessDeniedException) {
            reason = "permission denied";
        } else {
            reason = String.valueOf(e.getMessage());
        }
        return new TlsConfigException("cannot read " + file + ": " + reason, e);
    }
}
