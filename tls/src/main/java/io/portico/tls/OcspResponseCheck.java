package io.portico.tls;

import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.operator.ContentVerifierProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;

/**
 * The checks a fetched OCSP response must pass before it may replace a stapled one: those of
 * {@link OcspStapler}, and also signed by the certificate's issuer (or a responder certificate the
 * issuer made for OCSP signing), status good, and not out of date. A response read from a file is
 * the operator's choice; one fetched over plain HTTP is not, hence the signature.
 */
final class OcspResponseCheck {

    private OcspResponseCheck() {
    }

    /**
     * Checks a fetched response for the material, whose chain must hold the issuer.
     *
     * @return the response's next update, or null when it has none
     */
    static Instant verify(KeyMaterial material, byte[] der, String source) throws TlsConfigException {
        X509Certificate[] chain = material.chain();
        if (chain.length < 2) {
            throw new TlsConfigException("the chain in " + material.source() + " has no issuer certificate to check "
                    + "the OCSP response from " + source + " with");
        }
        try {
            BasicOCSPResp basic = basic(der, source);
            X509CertificateHolder issuer = new JcaX509CertificateHolder(chain[1]);
            SingleResp single = single(basic, material, issuer);
            if (single == null) {
                throw new TlsConfigException("the OCSP response from " + source + " is not for the certificate in "
                        + material.source());
            }
            if (!signedByIssuerOrDelegate(basic, chain[1], issuer)) {
                throw new TlsConfigException("the OCSP response from " + source + " is not signed by the issuer of "
                        + "the certificate in " + material.source() + " nor by a responder it authorised");
            }
            CertificateStatus status = single.getCertStatus();
            if (status instanceof RevokedStatus) {
                throw new TlsConfigException("the OCSP responder " + source + " says the certificate in "
                        + material.source() + " was revoked on " + ((RevokedStatus) status).getRevocationTime().toInstant());
            }
            if (status != CertificateStatus.GOOD) {
                throw new TlsConfigException("the OCSP responder " + source + " does not know the certificate in "
                        + material.source() + " (status unknown)");
            }
            Date next = single.getNextUpdate();
            if (next != null && !next.toInstant().isAfter(Instant.now())) {
                throw new TlsConfigException("the OCSP response from " + source + " is out of date since "
                        + next.toInstant());
            }
            return next == null ? null : next.toInstant();
        } catch (TlsConfigException e) {
            throw e;
        } catch (Exception e) {
            throw new TlsConfigException("cannot parse the OCSP response from " + source + ": " + e.getMessage(), e);
        }
    }

    /**
     * The next update of a response already accepted for the material (stapled), or null when it has
     * none or cannot be read.
     */
    static Instant nextUpdate(KeyMaterial material, byte[] der) {
        try {
            BasicOCSPResp basic = basic(der, "the stapler");
            X509Certificate[] chain = material.chain();
            SingleResp single = single(basic, material, chain.length > 1 ? new JcaX509CertificateHolder(chain[1]) : null);
            Date next = single == null ? null : single.getNextUpdate();
            return next == null ? null : next.toInstant();
        } catch (Exception e) {
            return null;
        }
    }

    private static BasicOCSPResp basic(byte[] der, String source) throws Exception {
        OCSPResp response = new OCSPResp(der);
        if (response.getStatus() != OCSPResp.SUCCESSFUL) {
            throw new TlsConfigException("the OCSP responder " + source + " answered with error status "
                    + response.getStatus());
        }
        Object object = response.getResponseObject();
        if (!(object instanceof BasicOCSPResp)) {
            throw new TlsConfigException("the OCSP response from " + source + " is not a basic OCSP response");
        }
        return (BasicOCSPResp) object;
    }

    private static SingleResp single(BasicOCSPResp basic, KeyMaterial material, X509CertificateHolder issuer)
            throws Exception {
        for (SingleResp single : basic.getResponses()) {
            if (single.getCertID().getSerialNumber().equals(material.leaf().getSerialNumber())
                    && (issuer == null || single.getCertID().matchesIssuer(issuer,
                            new JcaDigestCalculatorProviderBuilder().build()))) {
                return single;
            }
        }
        return null;
    }

    /** RFC 6960 4.2.2.2: the issuer itself, or a certificate it issued with the OCSP signing purpose. */
    private static boolean signedByIssuerOrDelegate(BasicOCSPResp basic, X509Certificate issuerCertificate,
                                                    X509CertificateHolder issuer) throws Exception {
        ContentVerifierProvider byIssuer = new JcaContentVerifierProviderBuilder().build(issuerCertificate.getPublicKey());
        if (basic.isSignatureValid(byIssuer)) {
            return true;
        }
        Date now = new Date();
        for (X509CertificateHolder responder : basic.getCerts()) {
            if (responder.getIssuer().equals(issuer.getSubject())
                    && responder.isValidOn(now)
                    && hasOcspSigningPurpose(responder)
                    && responder.isSignatureValid(byIssuer)
                    && basic.isSignatureValid(new JcaContentVerifierProviderBuilder().build(responder))) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasOcspSigningPurpose(X509CertificateHolder certificate) {
        ExtendedKeyUsage usage = ExtendedKeyUsage.fromExtensions(certificate.getExtensions());
        return usage != null && usage.hasKeyPurposeId(KeyPurposeId.id_kp_OCSPSigning);
    }
}
