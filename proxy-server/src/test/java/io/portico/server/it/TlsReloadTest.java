package io.portico.server.it;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Certificates change under a running Portico: new handshakes see the new one, open connections live on. */
class TlsReloadTest {

    static SelfSignedCertificate first;
    static SelfSignedCertificate second;
    static SSLContext trustingBoth;

    @BeforeAll
    static void certificates() throws Exception {
        first = new SelfSignedCertificate("first.test");
        second = new SelfSignedCertificate("second.test");
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("first", first.cert());
        ks.setCertificateEntry("second", second.cert());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        trustingBoth = SSLContext.getInstance("TLS");
        trustingBoth.init(null, tmf.getTrustManagers(), null);
    }

    @AfterAll
    static void cleanUp() {
        first.delete();
        second.delete();
    }

    @Test
    void newHandshakesGetTheNewCertificateWhileOpenConnectionsCarryOn(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("site.crt");
        Path key = dir.resolve("site.key");
        install(first, cert, key, 0);
        try (PorticoServer server = start(cert, key, "100ms"); SSLSocket open = connect(server)) {
            assertThat(subject(open)).contains("first.test");
            assertThat(get(open)).isEqualTo("ok");

            install(second, cert, key, 5_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                try (SSLSocket fresh = connect(server)) {
                    return subject(fresh).contains("second.test");
                }
            });
            // The connection from before the reload still serves requests.
            assertThat(get(open)).isEqualTo("ok");
        }
    }

    @Test
    void aConfigReloadReReadsCertificatesAndClosesIdleTlsConnectionsCleanly(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("site.crt");
        Path key = dir.resolve("site.key");
        install(first, cert, key, 0);
        Path file = dir.resolve("portico.yaml");
        Files.writeString(file, yaml(cert, key, "0s"));
        try (PorticoServer server = PorticoServer.start(ConfigLoader.load(file), file); SSLSocket open = connect(server)) {
            assertThat(subject(open)).contains("first.test");
            install(second, cert, key, 5_000);
            assertThat(server.reload().ok()).isTrue();
            try (SSLSocket fresh = connect(server)) {
                assertThat(subject(fresh)).contains("second.test");
                assertThat(get(fresh)).isEqualTo("ok");
            }
            // The connection from before, idle, was closed with close_notify: its client reconnects
            // onto the new config (a certificate reload alone leaves it open, see above).
            assertThat(open.getInputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void aBrokenFileKeepsTheCertificateInUse(@TempDir Path dir) throws Exception {
        Path cert = dir.resolve("site.crt");
        Path key = dir.resolve("site.key");
        install(first, cert, key, 0);
        try (PorticoServer server = start(cert, key, "0s")) {
            Files.writeString(key, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
            server.reloadCertificates();
            try (SSLSocket fresh = connect(server)) {
                assertThat(subject(fresh)).contains("first.test");
                assertThat(get(fresh)).isEqualTo("ok");
            }
        }
    }

    private static PorticoServer start(Path cert, Path key, String watch) throws Exception {
        return PorticoServer.start(ConfigLoader.parse("reload.yaml", yaml(cert, key, watch)));
    }

    private static String yaml(Path cert, Path key, String watch) {
        return """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                tls: {watch_interval: %s}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: "%s", key: "%s"}]
                access_log: {enabled: false}
                servers:
                  - routes: [{match: {prefix: /}, respond: {status: 200, body: ok}}]
                """.formatted(watch, cert, key);
    }

    private static void install(SelfSignedCertificate c, Path cert, Path key, long ageShiftMillis) throws IOException {
        Files.copy(c.certificate().toPath(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(c.privateKey().toPath(), key, StandardCopyOption.REPLACE_EXISTING);
        // Make the change visible even on file systems with coarse modification times.
        FileTime t = FileTime.fromMillis(System.currentTimeMillis() + ageShiftMillis);
        Files.setLastModifiedTime(cert, t);
        Files.setLastModifiedTime(key, t);
    }

    private static SSLSocket connect(PorticoServer server) throws IOException {
        SSLSocket s = (SSLSocket) trustingBoth.getSocketFactory().createSocket("127.0.0.1", server.address("https").getPort());
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    private static String subject(SSLSocket s) throws Exception {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }

    /** One keep-alive GET on an open connection; returns the body. */
    private static String get(SSLSocket s) throws IOException {
        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        int length = 0;
        String line;
        while (!(line = line(in)).isEmpty()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            if (c != '\r') {
                b.write(c);
            }
        }
        return b.toString(StandardCharsets.US_ASCII);
    }
}
