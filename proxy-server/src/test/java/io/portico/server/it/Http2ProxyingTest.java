package io.portico.server.it;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.config.ConfigLoader;
import io.portico.server.PorticoServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/2 from clients: ALPN h2 over TLS, h2c by upgrade and by prior knowledge, each stream one proxied exchange. */
class Http2ProxyingTest {

    static SelfSignedCertificate cert;
    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new TestOrigin("h2");
        portico = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 2
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                access_log: {enabled: false}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    max_body_size: 0
                    routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(cert.certificate(), cert.privateKey(), origin.port()))));
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
        cert.delete();
    }

    static int tlsPort() {
        return portico.server().address("https").getPort();
    }

    static HttpClient h2TlsClient() throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Test
    void jdkClientSpeaksHttp2OverTlsAndTheOriginGetsHttp11() throws Exception {
        HttpResponse<String> r = h2TlsClient().send(HttpRequest.newBuilder(
                URI.create("https://localhost:" + tlsPort() + "/headers?x=1")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).startsWith("GET /headers?x=1 HTTP/1.1").contains("host: localhost:" + tlsPort())
                .contains("x-forwarded-proto: https").doesNotContain("x-http2");
        assertThat(r.headers().firstValue("x-request-id")).isPresent();
    }

    @Test
    void jdkClientUpgradesToH2cOnAPlainListener() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> first = client.send(HttpRequest.newBuilder(portico.uri("/hello")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(first.body()).isEqualTo("hello from h2");
        HttpResponse<String> second = client.send(HttpRequest.newBuilder(portico.uri("/headers")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(second.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(second.body()).startsWith("GET /headers HTTP/1.1");
    }

    @Test
    void priorKnowledgeH2cIsServed() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, RawH2.get("/hello"), true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.text()).isEqualTo("hello from h2");
        }
    }
}
