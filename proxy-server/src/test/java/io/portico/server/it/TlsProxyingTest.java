package io.portico.server.it;

import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.KeyManagerFactory;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** HTTPS through Portico with real handshakes: the dev certificate, SNI, mTLS identity, HTTPS upstreams. */
class TlsProxyingTest {

    static SelfSignedCertificate alpha;
    static SelfSignedCertificate beta;
    static SelfSignedCertificate clientCert;
    static TestOrigin origin;

    @BeforeAll
    static void certificates() throws Exception {
        alpha = new SelfSignedCertificate("alpha.test");
        beta = new SelfSignedCertificate("beta.test");
        clientCert = new SelfSignedCertificate("client.test");
        origin = new TestOrigin("plain");
    }

    @AfterAll
    static void cleanUp() {
        origin.close();
        alpha.delete();
        beta.delete();
        clientCert.delete();
    }

    @Test
    void servesHttpsWithTheGeneratedDevelopmentCertificate(@TempDir Path dir) throws Exception {
        try (PorticoHarness p = tlsPortico("""
                    tls:
                      certificates: []
                """, dir)) {
            Path devCert = dir.resolve("tls").resolve("portico-dev.crt");
            assertThat(devCert).exists();
            HttpClient client = HttpClient.newBuilder().sslContext(trusting(loadCert(devCert))).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + p.port() + "/headers")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("x-forwarded-proto: https").contains("forwarded: for=127.0.0.1;proto=https");
        }
    }

    @Test
    void plainHttpOnTheTlsPortGetsNginxs400AndTheListenerCarriesOn(@TempDir Path dir) throws Exception {
        try (PorticoHarness p = tlsPortico("""
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                """.formatted(alpha.certificate(), alpha.privateKey()), dir)) {
            // curl http://host:8443/ sees an answer that says what went wrong, as with nginx, not an empty reply.
            try (Socket s = new Socket("127.0.0.1", p.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET /headers HTTP/1.1\r\nHost: alpha.test\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                assertThat(answer).startsWith("HTTP/1.1 400 Bad Request\r\n")
                        .contains("\r\nConnection: close\r\n").contains("\r\nDate: ")
                        .endsWith("\r\n\r\n400 Bad Request\nThe plain HTTP request was sent to HTTPS port\n");
                int length = Integer.parseInt(answer.replaceAll("(?s).*\r\nContent-Length: (\\d+)\r\n.*", "$1"));
                assertThat(answer.substring(answer.indexOf("\r\n\r\n") + 4)).hasSize(length);
            }
            // A TLS client on the same listener is served as ever.
            assertThat(fetch(trusting(alpha.cert()), p.port(), "alpha.test", "alpha.test", "/headers", ""))
                    .startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void sniPicksTheCertificateAndAMismatchedHostGets421(@TempDir Path dir) throws Exception {
        try (PorticoHarness p = tlsPortico("""
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                        - cert: %s
                          key: %s
                """.formatted(alpha.certificate(), alpha.privateKey(), beta.certificate(), beta.privateKey()), dir,
                """
                  - names: [alpha.test]
                    routes: [{match: {prefix: /}, respond: {status: 200, body: alpha}}]
                  - names: [beta.test]
                    routes: [{match: {prefix: /}, respond: {status: 200, body: beta}}]
                """)) {
            assertThat(fetch(p.port(), "beta.test", "beta.test", beta.cert())).startsWith("HTTP/1.1 200").endsWith("beta");
            assertThat(fetch(p.port(), "alpha.test", "alpha.test", alpha.cert())).startsWith("HTTP/1.1 200").endsWith("alpha");
            assertThat(fetch(p.port(), "alpha.test", "beta.test", alpha.cert())).startsWith("HTTP/1.1 421");
            // An unknown name gets the first (default) certificate: trusting only beta's fails the handshake.
            assertThatThrownBy(() -> fetch(p.port(), "other.test", "alpha.test", beta.cert()))
                    .isInstanceOf(SSLHandshakeException.class);
        }
    }

    @Test
    void passesAVerifiedClientCertificateUpstreamAndDropsSpoofedOnes(@TempDir Path dir) throws Exception {
        try (PorticoHarness p = tlsPortico("""
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                      client_auth: optional
                      client_ca: %s
                """.formatted(alpha.certificate(), alpha.privateKey(), clientCert.certificate()), dir)) {
            SSLContext withClientCert = SSLContext.getInstance("TLS");
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("client", clientCert.key(), new char[0], new java.security.cert.Certificate[] {clientCert.cert()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            withClientCert.init(kmf.getKeyManagers(), trustManagers(alpha.cert()), null);
            String withCert = fetch(withClientCert, p.port(), "alpha.test", "alpha.test", "/headers",
                    "X-Client-Subject: CN=forged\r\n");
            assertThat(withCert).contains("x-client-subject: CN=client.test").doesNotContain("forged")
                    .containsPattern("x-client-fingerprint: [0-9a-f]{64}");
            String without = fetch(trusting(alpha.cert()), p.port(), "alpha.test", "alpha.test", "/headers",
                    "X-Client-Subject: CN=forged\r\n");
            assertThat(without).startsWith("HTTP/1.1 200").doesNotContain("x-client-subject");
        }
    }

    @Test
    void aPlainListenerDropsClientCertificateFieldsTheClientSentToo() throws Exception {
        // An origin behind both a TLS and a plain listener cannot tell who set the field.
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(origin.port()))) {
            java.net.http.HttpResponse<String> r = PorticoHarness.client().send(java.net.http.HttpRequest
                    .newBuilder(p.uri("/headers")).header("X-Client-Subject", "CN=admin")
                    .header("X-Client-Fingerprint", "00").build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).doesNotContain("x-client-subject").doesNotContain("x-client-fingerprint")
                    .doesNotContain("CN=admin");
        }
    }

    @Test
    void verifiesHttpsUpstreamsAndRejectsAnUntrustedOneWith502(@TempDir Path dir) throws Exception {
        try (TestOrigin secure = new TestOrigin("secure", "127.0.0.1", 0,
                SslContextBuilder.forServer(alpha.certificate(), alpha.privateKey()).build())) {
            String template = """
                    upstreams:
                      secure:
                        backends: [{address: "127.0.0.1:%d"}]
                        retry: {attempts: 1}
                        tls: {enabled: true, ca: %s, sni: alpha.test}
                    servers:
                      - routes: [{match: {prefix: /}, upstream: secure}]
                    """;
            try (PorticoHarness good = PorticoHarness.start(template.formatted(secure.port(), alpha.certificate()))) {
                HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(good.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("hello from secure");
            }
            try (PorticoHarness bad = PorticoHarness.start(template.formatted(secure.port(), beta.certificate()))) {
                HttpResponse<String> r = PorticoHarness.client().send(HttpRequest.newBuilder(bad.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(502);
            }
        }
    }

    @Test
    void proxiesToASelfSignedHttpsUpstreamOnlyWithVerifyOff() throws Exception {
        try (TestOrigin selfSigned = new TestOrigin("self-signed", "127.0.0.1", 0,
                SslContextBuilder.forServer(alpha.certificate(), alpha.privateKey()).build())) {
            String template = """
                    upstreams:
                      secure:
                        backends: [{address: "127.0.0.1:%d"}]
                        retry: {attempts: 1}
                        tls: {enabled: true%s}
                    servers:
                      - routes: [{match: {prefix: /}, upstream: secure}]
                    """;
            try (PorticoHarness verified = PorticoHarness.start(template.formatted(selfSigned.port(), ""))) {
                HttpResponse<String> r = PorticoHarness.client().send(
                        HttpRequest.newBuilder(verified.uri("/hello")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(502);
                assertThat(verified.server().warnings()).noneMatch(w -> w.contains("tls.verify"));
            }
            try (PorticoHarness unverified = PorticoHarness.start(template.formatted(selfSigned.port(), ", verify: false"))) {
                HttpResponse<String> r = PorticoHarness.client().send(
                        HttpRequest.newBuilder(unverified.uri("/hello")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("hello from self-signed");
                assertThat(unverified.server().warnings())
                        .anyMatch(w -> w.contains("upstream secure: tls.verify is false"));
            }
        }
    }

    @Test
    void writesTheKeyLogNamedInTheConfigForItsOwnerOnly(@TempDir Path dir) throws Exception {
        Path log = Files.writeString(dir.resolve("keys.log"), "");
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-rw-r--"));
        String yaml = """
                workers: 1
                tls:
                  dev_cert_dir: %s
                  key_log_file: %s
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                    tls: {certificates: []}
                access_log: {enabled: false}
                admin: {address: "127.0.0.1:0"}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(dir.resolve("tls"), log, origin.port());
        try (PorticoHarness p = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("tls-test.yaml", yaml)))) {
            HttpClient client = HttpClient.newBuilder()
                    .sslContext(trusting(loadCert(dir.resolve("tls").resolve("portico-dev.crt")))).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("https://localhost:" + p.port() + "/hello")).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(r.statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Files.readAllLines(log))
                    .anyMatch(line -> line.startsWith("CLIENT_TRAFFIC_SECRET_0 ") || line.startsWith("CLIENT_RANDOM ")));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(log))).isEqualTo("rw-------");
            assertThat(p.server().warnings())
                    .anyMatch(w -> w.startsWith("listener http: ") && w.contains("(rw-rw-r--)"))
                    .anyMatch(w -> w.contains("TLS secrets are written to " + log));
        }
    }

    @Test
    void rejectsAnEmptyKeyLogFileName() {
        assertThatThrownBy(() -> ConfigLoader.parse("t.yaml", """
                tls: {key_log_file: " "}
                listeners: [{address: 127.0.0.1:0}]
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                """))
                .hasMessageContaining("tls.key_log_file");
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static PorticoHarness tlsPortico(String tls, Path dir) throws Exception {
        return tlsPortico(tls, dir, """
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """);
    }

    private static PorticoHarness tlsPortico(String tls, Path dir, String servers) throws Exception {
        String yaml = """
                workers: 1
                tls:
                  dev_cert_dir: %s
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                %s
                access_log: {enabled: false}
                admin: {address: "127.0.0.1:0"}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                %s
                """.formatted(dir.resolve("tls"), tls, origin.port(), servers);
        return PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("tls-test.yaml", yaml)));
    }

    static X509Certificate loadCert(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    static javax.net.ssl.TrustManager[] trustManagers(X509Certificate cert) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("trusted", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return tmf.getTrustManagers();
    }

    static SSLContext trusting(X509Certificate cert) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, trustManagers(cert), null);
        return ctx;
    }

    /** One GET over a fresh TLS connection with the given SNI name and Host; the whole answer as text. */
    static String fetch(int port, String sni, String host, X509Certificate trusted) throws Exception {
        return fetch(trusting(trusted), port, sni, host, "/", "");
    }

    static String fetch(SSLContext ctx, int port, String sni, String host, String path, String extraHeaders)
            throws Exception {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            SSLParameters params = s.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName(sni)));
            s.setSSLParameters(params);
            s.setSoTimeout(10_000);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" + extraHeaders + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
