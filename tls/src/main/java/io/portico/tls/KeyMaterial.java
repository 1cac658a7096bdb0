package io.portico.tls;

import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.UnrecoverableKeyException;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Enumeration;
import java.util.List;

/**
 * A certificate chain (leaf first) and its private key, loaded and checked: the key belongs to the
 * leaf, and the key is RSA or EC. Problems a server can live with (expired, not yet valid, missing
 * intermediate, chain out of order) are {@link #warnings()}, not errors.
 */
public final class KeyMaterial {

    /** How close to expiry a certificate must be before it is worth a warning. */
    private static final Duration EXPIRY_WARNING = Duration.ofDays(14);

    private final X509Certificate[] chain;
    private final PrivateKey key;
    private final String keyType;
    private final List<String> names;
    private final List<String> warnings;
    private final String source;

    private KeyMaterial(X509Certificate[] chain, PrivateKey key, String keyType, List<String> names,
                        List<String> warnings, String source) {
        this.chain = chain;
        this.key = key;
        this.keyType = keyType;
        this.names = names;
        this.warnings = warnings;
        this.source = source;
    }

    /**
     * Loads a PEM chain (leaf first) and a PEM private key; both may be the same file.
     *
     * @param password the key's password, or null when it is not encrypted
     */
    public static KeyMaterial loadPem(Path certChainPem, Path keyPem, char[] password) throws TlsConfigException {
        List<X509Certificate> certificates = Pem.certificates(certChainPem);
        if (certificates.isEmpty()) {
            throw new TlsConfigException("no certificate in " + certChainPem
                    + " (expected PEM blocks: -----BEGIN CERTIFICATE-----)");
        }
        PrivateKey key = Pem.privateKey(keyPem, password);
        String source = certChainPem.equals(keyPem) ? certChainPem.toString() : certChainPem + " and " + keyPem;
        return of(key, certificates, source);
    }

    /** Loads the first key entry of a PKCS#12 file and its chain; the password opens both the file and the key. */
    public static KeyMaterial loadPkcs12(Path p12, char[] password) throws TlsConfigException {
        char[] pass = password == null ? new char[0] : password;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(p12);
        } catch (IOException e) {
            throw Pem.unreadable(p12, e);
        }
        KeyStore store;
        try (InputStream in = new ByteArrayInputStream(bytes)) {
            store = KeyStore.getInstance("PKCS12");
            store.load(in, pass);
        } catch (IOException e) {
            if (e.getCause() instanceof UnrecoverableKeyException) {
                throw new TlsConfigException("wrong password for " + p12 + " (or the file is damaged)", e);
            }
            throw new TlsConfigException("cannot parse " + p12 + " as PKCS#12: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("cannot parse " + p12 + " as PKCS#12: " + e.getMessage(), e);
        }
        try {
            Enumeration<String> aliases = store.aliases();
            while (aliases.hasMoreElements()) {
                String alias = aliases.nextElement();
                if (!store.isKeyEntry(alias)) {
                    continue;
                }
                Key key = store.getKey(alias, pass);
                Certificate[] chain = store.getCertificateChain(alias);
                if (!(key instanceof PrivateKey) || chain == null || chain.length == 0) {
                    continue;
                }
                List<X509Certificate> certificates = new ArrayList<>(chain.length);
                for (Certificate certificate : chain) {
                    certificates.add((X509Certificate) certificate);
                }
                return of((PrivateKey) key, certificates, p12.toString());
            }
        } catch (UnrecoverableKeyException e) {
            throw new TlsConfigException("wrong password for the private key in " + p12, e);
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("cannot read the key entry of " + p12 + ": " + e.getMessage(), e);
        }
        throw new TlsConfigException("no private key with a certificate chain in " + p12);
    }

    /**
     * Checks and wraps a key and chain that were obtained otherwise (generated, or read from a
     * key store by the caller).
     *
     * @param source what to call the material in messages, e.g. its file names
     */
    public static KeyMaterial of(PrivateKey key, List<X509Certificate> chain, String source) throws TlsConfigException {
        if (chain.isEmpty()) {
            throw new TlsConfigException("no certificate in " + source);
        }
        X509Certificate leaf = chain.get(0);
        String keyType = keyType(key, source);
        String certificateKeyType = leaf.getPublicKey().getAlgorithm();
        if (!keyType.equals(normalise(certificateKeyType))) {
            throw new TlsConfigException("the private key does not match the certificate in " + source + ": the key is "
                    + keyType + " but the certificate's key is " + certificateKeyType);
        }
        if (!matches(key, leaf.getPublicKey())) {
            throw new TlsConfigException("the private key does not match the certificate in " + source
                    + " (their public keys differ; the leaf certificate must come first)");
        }
        X509Certificate[] certificates = chain.toArray(new X509Certificate[0]);
        List<String> names = names(leaf);
        List<String> warnings = warnings(certificates, names, source, Instant.now());
        return new KeyMaterial(certificates, key, keyType, names, warnings, source);
    }

    /** The chain, leaf first. */
    public X509Certificate[] chain() {
        return chain.clone();
    }

    /** The leaf certificate. */
    public X509Certificate leaf() {
        return chain[0];
    }

    public PrivateKey key() {
        return key;
    }

    /** {@code "RSA"} or {@code "EC"}. */
    public String keyType() {
        return keyType;
    }

    /** The leaf's DNS subject alternative names (its CN when it has none), lower case; may include wildcards. */
    public List<String> names() {
        return names;
    }

    /** What an operator should know but that does not stop the server, one sentence each. */
    public List<String> warnings() {
        return warnings;
    }

    /** Where the material came from, for messages: file names. */
    public String source() {
        return source;
    }

    /** Whether this material's certificate covers the server name, wildcards matching one label. */
    public boolean covers(String serverName) {
        String name = ServerNames.normalise(serverName);
        for (String covered : names) {
            if (ServerNames.matches(covered, name)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "KeyMaterial[" + keyType + " " + names + " from " + source + "]";
    }

    private static String keyType(PrivateKey key, String source) throws TlsConfigException {
        if (key instanceof RSAKey && "RSA".equals(key.getAlgorithm())) {
            return "RSA";
        }
        if (key instanceof ECKey) {
            return "EC";
        }
        throw new TlsConfigException("unsupported private key type " + key.getAlgorithm() + " in " + source
                + ": use an RSA or EC (P-256, P-384) key");
    }

    private static String normalise(String algorithm) {
        return "ECDSA".equals(algorithm) ? "EC" : algorithm;
    }

    private static boolean matches(PrivateKey key, PublicKey publicKey) throws TlsConfigException {
        if (key instanceof RSAKey && publicKey instanceof RSAKey) {
            return ((RSAKey) key).getModulus().equals(((RSAKey) publicKey).getModulus());
        }
        // An EC private key does not always carry its public point, so prove possession instead.
        try {
            byte[] probe = "portico key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance("SHA256withECDSA");
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance("SHA256withECDSA");
            verifier.initVerify(publicKey);
            verifier.update(probe);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static List<String> names(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (entry.size() >= 2 && Integer.valueOf(2).equals(entry.get(0)) && entry.get(1) instanceof String) {
                        String name = ServerNames.normalise((String) entry.get(1));
                        if (!names.contains(name)) {
                            names.add(name);
                        }
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // An unparsable SAN extension leaves only the CN to go by.
        }
        if (names.isEmpty()) {
            X500Name subject = X500Name.getInstance(leaf.getSubjectX500Principal().getEncoded());
            for (RDN rdn : subject.getRDNs(BCStyle.CN)) {
                names.add(ServerNames.normalise(IETFUtils.valueToString(rdn.getFirst().getValue())));
            }
        }
        return List.copyOf(names);
    }

    private static List<String> warnings(X509Certificate[] chain, List<String> names, String source, Instant now) {
        List<String> warnings = new ArrayList<>();
        String subject = names.isEmpty() ? chain[0].getSubjectX500Principal().getName() : String.join(", ", names);
        for (int i = 0; i < chain.length; i++) {
            X509Certificate certificate = chain[i];
            String what = i == 0 ? "certificate for " + subject
                    : "chain certificate " + certificate.getSubjectX500Principal().getName();
            Instant notAfter = certificate.getNotAfter().toInstant();
            Instant notBefore = certificate.getNotBefore().toInstant();
            if (now.isAfter(notAfter)) {
                warnings.add(what + " in " + source + " expired on " + notAfter);
            } else if (now.isBefore(notBefore)) {
                warnings.add(what + " in " + source + " is not valid before " + notBefore);
            } else if (now.plus(EXPIRY_WARNING).isAfter(notAfter)) {
                warnings.add(what + " in " + source + " expires on " + notAfter + " (in "
                        + Duration.between(now, notAfter).toDays() + " days)");
            }
            if (i + 1 < chain.length
                    && !certificate.getIssuerX500Principal().equals(chain[i + 1].getSubjectX500Principal())) {
                warnings.add("chain certificate " + (i + 1) + " in " + source + " did not issue certificate " + i
                        + ": the chain is out of order or holds an unrelated certificate");
            }
        }
        X509Certificate leaf = chain[0];
        if (chain.length == 1 && !leaf.getIssuerX500Principal().equals(leaf.getSubjectX500Principal())) {
            warnings.add("chain in " + source + " has only the leaf; clients that lack the intermediate ("
                    + leaf.getIssuerX500Principal().getName() + ") will fail");
        }
        return List.copyOf(warnings);
    }
}
