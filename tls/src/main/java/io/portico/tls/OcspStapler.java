package io.portico.tls;

import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

import javax.net.ssl.SSLEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * OCSP responses stapled to handshakes, per certificate (OpenSSL provider only; the listener must
 * be built with {@code ocspStapling}). Responses come from DER files that something else fetches,
 * e.g. {@code openssl ocsp -respout}, or from the certificate's responder through
 * {@link OcspFetcher}. A response can be replaced at any time and is used from the next handshake on.
 *
 * <p>With the JDK provider nothing is stapled: SunJSSE staples only what it fetches itself
 * ({@code jdk.tls.server.enableStatusRequestExtension}), so a given response cannot be handed to it.
 */
public final class OcspStapler {

    /** Keyed by identity: a material is one loaded certificate. */
    private final Map<KeyMaterial, byte[]> responses = new ConcurrentHashMap<>();

    /**
     * Reads a DER OCSP response and staples it for the material from now on.
     *
     * @return warnings: a response past its next update, or with status unknown
     * @throws TlsConfigException when the file is unreadable, not a successful OCSP response, for
     *                            another certificate, or says the certificate is revoked
     */
    public List<String> load(KeyMaterial material, Path derFile) throws TlsConfigException {
        byte[] der;
        try {
            der = Files.readAllBytes(derFile);
        } catch (IOException e) {
            throw Pem.unreadable(derFile, e);
        }
        return set(material, der, derFile.toString());
    }

    /** As {@link #load}, from bytes already in memory. */
    public List<String> set(KeyMaterial material, byte[] der, String source) throws TlsConfigException {
        List<String> warnings = check(material, der, source);
        responses.put(material, der.clone());
        return warnings;
    }

    /** Stops stapling for the material. */
    public void clear(KeyMaterial material) {
        responses.remove(material);
    }

    /** The response stapled for the material, or null. */
    public byte[] response(KeyMaterial material) {
        byte[] der = responses.get(material);
        return der == null ? null : der.clone();
    }

    /** Sets the material's response on a server engine before its handshake; a no-op for JDK engines or without a response. */
    void staple(KeyMaterial material, SSLEngine engine) {
        if (engine instanceof ReferenceCountedOpenSslEngine) {
            byte[] der = responses.get(material);
            if (der != null) {
                ((ReferenceCountedOpenSslEngine) engine).setOcspResponse(der);
            }
        }
    }

    private static List<String> check(KeyMaterial material, byte[] der, String source) throws TlsConfigException {
        X509Certificate leaf = material.leaf();
        List<String> warnings = new ArrayList<>();
        try {
            OCSPResp response = new OCSPResp(der);
            if (response.getStatus() != OCSPResp.SUCCESSFUL) {
                throw new TlsConfigException("the OCSP response in " + source + " is not successful (status "
                        + response.getStatus() + ")");
            }
            Object object = response.getResponseObject();
            if (!(object instanceof BasicOCSPResp)) {
                throw new TlsConfigException("the OCSP response in " + source + " is not a basic OCSP response");
            }
            X509Certificate[] chain = material.chain();
            JcaX509CertificateHolder issuer = chain.length > 1 ? new JcaX509CertificateHolder(chain[1]) : null;
            SingleResp match = null;
            for (SingleResp single : ((BasicOCSPResp) object).getResponses()) {
                if (single.getCertID().getSerialNumber().equals(leaf.getSerialNumber())
                        && (issuer == null || single.getCertID().matchesIssuer(issuer,
                                new JcaDigestCalculatorProviderBuilder().build()))) {
                    match = single;
                    break;
                }
            }
            if (match == null) {
                throw new TlsConfigException("the OCSP response in " + source + " is not for the certificate in "
                        + material.source() + " (serial " + leaf.getSerialNumber().toString(16) + ")");
            }
            CertificateStatus status = match.getCertStatus();
            if (status instanceof RevokedStatus) {
                throw new TlsConfigException("the OCSP response in " + source + " says the certificate in "
                        + material.source() + " was revoked on " + ((RevokedStatus) status).getRevocationTime().toInstant());
            }
            if (status != CertificateStatus.GOOD) {
                warnings.add("the OCSP response in " + source + " gives the certificate's status as unknown");
            }
            if (match.getNextUpdate() != null && match.getNextUpdate().toInstant().isBefore(Instant.now())) {
                warnings.add("the OCSP response in " + source + " is out of date since "
                        + match.getNextUpdate().toInstant() + "; clients may reject it");
            }
        } catch (IOException | OCSPException | CertificateEncodingException
                 | org.bouncycastle.operator.OperatorCreationException | RuntimeException e) {
            throw new TlsConfigException("cannot parse the OCSP response in " + source + ": " + e.getMessage(), e);
        }
        return List.copyOf(warnings);
    }
}
