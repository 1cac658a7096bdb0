package io.portico.tls;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/** PEM certificate bundles: CA files for upstream trust and client-certificate authorities. */
public final class PemFiles {

    private PemFiles() {
    }

    /**
     * Every certificate in a PEM file, in file order.
     *
     * @throws TlsConfigException when the file cannot be read or parsed, or holds no certificate
     */
    public static List<X509Certificate> loadCertificates(Path pem) throws TlsConfigException {
        List<X509Certificate> certificates = Pem.certificates(pem);
        if (certificates.isEmpty()) {
            throw new TlsConfigException("no certificate in " + pem + " (expected PEM blocks: -----BEGIN CERTIFICATE-----)");
        }
        return List.copyOf(certificates);
    }
}
