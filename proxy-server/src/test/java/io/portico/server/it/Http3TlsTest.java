package io.portico.server.it;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The QUIC side takes the listener's TLS policy: client certificates are required and passed upstream as on TCP. */
class Http3TlsTest {

    static SelfSignedCertificate server;
    static SelfSignedCertificate client;
    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        server = new SelfSignedCertificate("localhost");
        client = new SelfSignedCertificate("client.test");
        origin = new TestOrigin("mtls");
        portico = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: %s, key: %s}]
                      client_auth: require
                      client_ca: %s
                    http3: {enabled: true}
                access_log: {enabled: false}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(server.certificate(), server.privateKey(), client.certificate(), origin.port()))));
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
        server.delete();
        client.delete();
    }

    static int port() {
        return portico.server().http3Address("https").getPort();
    }

    @Test
    void aClientWithoutACertificateIsRefusedWhenTheListenerRequiresOne() {
        int before = origin.requests.get();
        H3Client.Response r = null;
        try (H3Client anonymous = new H3Client(port(), server.cert())) {
            r = anonymous.get("/hello");
        } catch (Exception refused) {
            // TLS 1.3: the client may learn of the refusal at connect or only on its first stream.
        }
        assertThat(r == null ? -1 : r.status()).as("no answer without a client certificate").isEqualTo(-1);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aVerifiedClientCertificateGoesUpstreamInTheListenersHeaders() throws Exception {
        try (H3Client c = new H3Client(port(), server.cert(), client.key(), client.cert())) {
            H3Client.Response r = c.send(c.headers("GET", "/headers").add("x-client-subject", "CN=forged"), null);
            assertThat(r.status()).as(r::describe).isEqualTo(200);
            assertThat(r.body()).contains("x-client-subject: CN=client.test").doesNotContain("forged")
                    .containsPattern("x-client-fingerprint: [0-9a-f]{64}");
        }
    }
}
