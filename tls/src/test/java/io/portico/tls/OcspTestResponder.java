package io.portico.tls;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RespID;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real OCSP responder on 127.0.0.1 for one test CA: answers each POSTed request for the serials
 * it is asked about, as {@link #mode} says, with BouncyCastle's {@link BasicOCSPRespBuilder}.
 */
final class OcspTestResponder implements AutoCloseable {

    /** How the responder answers. */
    enum Mode {
        GOOD, REVOKED, UNKNOWN, GARBAGE, HTTP_500, WRONG_SIGNER, DELEGATED, HANG
    }

    /** One request as the responder saw it. */
    record Seen(String method, String contentType, List<BigInteger> serials) {
    }

    private final TestPki.Issued ca = TestPki.ca("OCSP Test Root", "EC");
    private final TestPki.Issued delegate = delegate(ca);
    private final KeyPair stranger = TestPki.keyPair("EC");
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();

    volatile Mode mode = Mode.GOOD;
    /** How long GOOD answers are valid; null for no next update. */
    volatile Duration validity = Duration.ofDays(1);
    private volatile byte[] lastAnswer;

    OcspTestResponder() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ocsp", this::answer);
        server.setExecutor(threads);
        server.start();
    }

    URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/ocsp");
    }

    int requests() {
        return requests.get();
    }

    List<Seen> seen() {
        return seen;
    }

    /** The last OCSP response sent, or null. */
    byte[] lastAnswer() {
        return lastAnswer;
    }

    TestPki.Issued ca() {
        return ca;
    }

    /** A server certificate signed by this CA whose AIA names this responder (and a CA issuers URL, to be ignored). */
    TestPki.Issued leaf(String dnsName) {
        return leafWithAia(ca, new AuthorityInformationAccess(new AccessDescription[] {
            new AccessDescription(AccessDescription.id_ad_caIssuers,
                    new GeneralName(GeneralName.uniformResourceIdentifier, "http://127.0.0.1:1/ca.der")),
            new AccessDescription(AccessDescription.id_ad_ocsp,
                    new GeneralName(GeneralName.uniformResourceIdentifier, url().toString()))}), dnsName);
    }

    /** The leaf with its CA as the chain. */
    KeyMaterial material(TestPki.Issued leaf) {
        return TestPki.material(leaf, ca.certificate());
    }

    @Override
    public void close() {
        release.countDown();
        server.stop(0);
        threads.shutdownNow();
    }

    private void answer(HttpExchange exchange) throws IOException {
        try (exchange; InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readAllBytes();
            Mode answering = mode;
            List<BigInteger> serials = new ArrayList<>();
            OCSPReq request = null;
            try {
                request = new OCSPReq(body);
                for (Req one : request.getRequestList()) {
                    serials.add(one.getCertID().getSerialNumber());
                }
            } catch (IOException e) {
                // recorded with no serials: the test then sees the request was not understood
            }
            seen.add(new Seen(exchange.getRequestMethod(), exchange.getRequestHeaders().getFirst("Content-Type"),
                    serials));
            requests.incrementAndGet();
            if (answering == Mode.HANG) {
                release.await();
                return;
            }
            if (answering == Mode.HTTP_500 || request == null) {
                exchange.sendResponseHeaders(500, -1);
                return;
            }
            byte[] answer = answering == Mode.GARBAGE ? "this is not OCSP".getBytes(StandardCharsets.US_ASCII)
                    : response(request, answering);
            lastAnswer = answer;
            exchange.getResponseHeaders().set("Content-Type", "application/ocsp-response");
            exchange.sendResponseHeaders(200, answer.length);
            exchange.getResponseBody().write(answer);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    private byte[] response(OCSPReq request, Mode answering) throws Exception {
        Instant now = Instant.now();
        BasicOCSPRespBuilder builder = new BasicOCSPRespBuilder(
                new RespID(new JcaX509CertificateHolder(answering == Mode.DELEGATED ? delegate.certificate() : ca.certificate())
                        .getSubject()));
        CertificateStatus status = switch (answering) {
            case REVOKED -> new RevokedStatus(Date.from(now.minus(Duration.ofHours(2))), 1);
            case UNKNOWN -> new UnknownStatus();
            default -> CertificateStatus.GOOD;
        };
        Duration valid = validity;
        for (Req one : request.getRequestList()) {
            builder.addResponse(one.getCertID(), status, Date.from(now.minusSeconds(60)),
                    valid == null ? null : Date.from(now.plus(valid)));
        }
        PrivateKey signer = switch (answering) {
            case WRONG_SIGNER -> stranger.getPrivate();
            case DELEGATED -> delegate.key();
            default -> ca.key();
        };
        X509CertificateHolder[] chain = answering == Mode.DELEGATED
                ? new X509CertificateHolder[] {new JcaX509CertificateHolder(delegate.certificate())} : null;
        return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, builder.build(
                new JcaContentSignerBuilder("SHA256withECDSA").build(signer), chain, Date.from(now))).getEncoded();
    }

    /** A certificate the CA made for signing OCSP responses on its behalf (RFC 6960 4.2.2.2). */
    private static TestPki.Issued delegate(TestPki.Issued ca) {
        KeyPair pair = TestPki.keyPair("EC");
        Instant now = Instant.now();
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(ca.certificate(), serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(30))),
                    new X500Name("CN=OCSP Test Responder"), pair.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_OCSPSigning));
            return new TestPki.Issued(sign(builder, ca.key()), pair.getPrivate(), pair);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static TestPki.Issued leafWithAia(TestPki.Issued issuer, AuthorityInformationAccess aia, String dnsName) {
        KeyPair pair = TestPki.keyPair("EC");
        Instant now = Instant.now();
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer.certificate(), serial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(90))),
                    new X500Name("CN=" + dnsName), pair.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            builder.addExtension(Extension.authorityInfoAccess, false, aia);
            return new TestPki.Issued(sign(builder, issuer.key()), pair.getPrivate(), pair);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws Exception {
        String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder(algorithm).build(key)));
    }

    private static BigInteger serial() {
        return new BigInteger(64, new java.security.SecureRandom()).add(BigInteger.ONE);
    }
}
