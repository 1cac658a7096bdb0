package io.portico.server.it;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import static io.portico.server.it.StreamHarness.readAll;
import static io.portico.server.it.StreamHarness.readExactly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** TLS on tcp listeners: routed by SNI without terminating, and terminated with plain TCP behind. */
class TlsStreamTest {

    static SelfSignedCertificate certA;
    static SelfSignedCertificate certB;
    static TestOrigin originA;
    static TestOrigin originB;

    @BeforeAll
    static void origins() throws Exception {
        certA = new SelfSignedCertificate("a.example.test");
        certB = new SelfSignedCertificate("b.example.test");
        SslContext a = SslContextBuilder.forServer(certA.certificate(), certA.privateKey()).build();
        SslContext b = SslContextBuilder.forServer(certB.certificate(), certB.privateKey()).build();
        originA = new TestOrigin("origin-a", "127.0.0.1", 0, a);
        originB = new TestOrigin("origin-b", "127.0.0.1", 0, b);
    }

    @AfterAll
    static void stop() {
        originA.close();
        originB.close();
        certA.delete();
        certB.delete();
    }

    /** Connects with TLS and SNI {@code name}, trusting anything, and returns the socket after its handshake. */
    static SSLSocket tls(PorticoServer portico, String listener, String name) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                portico.address(listener).getPort());
        s.setSoTimeout(10_000);
        SSLParameters p = s.getSSLParameters();
        if (name != null) {
            p.setServerNames(List.of(new SNIHostName(name)));
        }
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    @Test
    void theClientHelloPicksTheGroupAndTheClientSeesThatOriginsOwnCertificate() throws Exception {
        try (PorticoServer portico = StreamHarness.start("""
                workers: 2
                access_log: {enabled: false}
                listeners:
                  - name: sni
                    address: 127.0.0.1:0
                    protocol: tcp
                    upstream: b
                    stream:
                      sni_routes:
                        a.example.test: a
                        "*.other.test": b
                upstreams:
                  a: {backends: [{address: 127.0.0.1:%d}]}
                  b: {backends: [{address: 127.0.0.1:%d}]}
                """.formatted(originA.port(), originB.port()))) {
            for (String[] c : new String[][] {{"a.example.test", "a.example.test", "origin-a"},
                    {"x.deep.other.test", "b.example.test", "origin-b"}, {"unlisted.test", "b.example.test", "origin-b"}}) {
                try (SSLSocket s = tls(portico, "sni", c[0])) {
                    X509Certificate seen = (X509Certificate) s.getSession().getPeerCertificates()[0];
                    assertThat(seen.getSubjectX500Principal().getName()).contains("CN=" + c[1]);
                    s.getOutputStream().write("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    String response = new String(readAll(s.getInputStream()), StandardCharsets.ISO_8859_1);
                    assertThat(response).startsWith("HTTP/1.1 200").containsIgnoringCase("X-Origin: " + c[2]);
                }
            }
        }
    }

    /**
     * An empty handshake record ahead of the ClientHello is forbidden (RFC 8446 5.1). Netty alone
     * reads it as a ClientHello without a name, which would send the client to the fallback group
     * under a name routed elsewhere (backends that skip empty records then take the real one).
     */
    @Test
    void anEmptyHandshakeRecordBeforeTheClientHelloFailsThePreread(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TcpOrigin a = TcpOrigin.echo();
             TcpOrigin b = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start("""
                     workers: 1
                     access_log: {path: %s}
                     listeners:
                       - name: sni
                         address: 127.0.0.1:0
                         protocol: tcp
                         upstream: b
                         stream:
                           sni_routes:
                             a.example.test: a
                     upstreams:
                       a: {backends: [{address: 127.0.0.1:%d}]}
                       b: {backends: [{address: 127.0.0.1:%d}]}
                     """.formatted(log, a.port(), b.port()));
             Socket s = StreamHarness.connect(portico, "sni")) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.write(new byte[] {0x16, 3, 1, 0, 0});
            bytes.write(clientHello("a.example.test"));
            s.getOutputStream().write(bytes.toByteArray());
            assertThat(readToEndOrReset(s)).isEmpty();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                portico.accessLog().flush();
                assertThat(Files.readString(log)).contains(" TCP 400 ", "end=preread_failed");
            });
            assertThat(a.connections.get()).isZero();
            assertThat(b.connections.get()).isZero();
        }
    }

    /** The TLS records of a JDK client's ClientHello for {@code name}. */
    private static byte[] clientHello(String name) throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine(name, 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(name)));
        engine.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] hello = new byte[out.remaining()];
        out.get(hello);
        return hello;
    }

    /** What the peer sent before closing; a reset (the close found unread bytes) counts as closed. */
    private static byte[] readToEndOrReset(Socket s) throws java.io.IOException {
        try {
            return readAll(s.getInputStream());
        } catch (SocketException reset) {
            return new byte[0];
        }
    }

    @Test
    void aListenerWithTlsTerminatesItAndRelaysPlainBytes(@TempDir Path certs) throws Exception {
        try (TcpOrigin origin = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start("""
                     workers: 2
                     access_log: {enabled: false}
                     tls: {dev_cert_dir: %s}
                     listeners:
                       - name: tls
                         address: 127.0.0.1:0
                         protocol: tcp
                         upstream: echo
                         tls: {}
                     upstreams:
                       echo: {backends: [{address: 127.0.0.1:%d}]}
                     """.formatted(certs, origin.port()));
             SSLSocket s = tls(portico, "tls", "localhost")) {
            X509Certificate seen = (X509Certificate) s.getSession().getPeerCertificates()[0];
            assertThat(seen.getSubjectX500Principal().getName()).contains("localhost");
            s.getOutputStream().write("secret words".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(readExactly(s.getInputStream(), 12), StandardCharsets.US_ASCII)).isEqualTo("secret words");
            assertThat(portico.streamStats("tls").copied()).isEqualTo(1);
        }
    }
}
