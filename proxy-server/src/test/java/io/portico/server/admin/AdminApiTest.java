package io.portico.server.admin;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import io.portico.server.it.PorticoHarness;
import io.portico.server.it.TestOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The admin listener: metrics that move with traffic, status, upstreams, the redacted config, tokens. */
class AdminApiTest {

    static TestOrigin origin;
    static PorticoHarness portico;
    static AdminClient admin;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("origin");
        portico = PorticoHarness.proxyTo(origin, "");
        admin = new AdminClient(portico.server().adminAddress(), null);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void metricsMoveAsTrafficPasses() throws Exception {
        Scrape before = admin.scrape();
        HttpClient client = PorticoHarness.client();
        for (int i = 0; i < 7; i++) {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(portico.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
        }
        HttpResponse<String> missing = client.send(HttpRequest.newBuilder(portico.uri("/status/404")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(missing.statusCode()).isEqualTo(404);

        // An exchange is counted as it ends, just after its last bytes are written: the client can
        // have the answer before the counter moves.
        await().atMost(Duration.ofSeconds(5)).until(
                () -> delta(before, admin.scrape(), "portico_request_duration_seconds_count", "listener=http") >= 8);
        Scrape after = admin.scrape();
        assertThat(delta(before, after, "portico_requests_total", "listener=http", "protocol=HTTP/1.1", "code=2xx"))
                .isEqualTo(7);
        assertThat(delta(before, after, "portico_requests_total", "listener=http", "code=4xx")).isEqualTo(1);
        assertThat(delta(before, after, "portico_request_duration_seconds_count", "listener=http")).isEqualTo(8);
        assertThat(delta(before, after, "portico_request_duration_seconds_sum", "listener=http")).isPositive();
        assertThat(after.sum("portico_request_duration_seconds", "listener=http", "quantile=0.99")).isPositive();
        assertThat(after.sum("portico_request_duration_seconds", "listener=http", "quantile=0.5"))
                .isLessThanOrEqualTo(after.sum("portico_request_duration_seconds", "listener=http", "quantile=0.999"));
        assertThat(delta(before, after, "portico_upstream_response_duration_seconds_count", "upstream=origin")).isEqualTo(8);
        assertThat(delta(before, after, "portico_upstream_requests_total", "upstream=origin")).isEqualTo(8);
        // One keep-alive client connection, one upstream connection reused for the rest.
        assertThat(delta(before, after, "portico_upstream_reused_connections_total", "upstream=origin")).isGreaterThanOrEqualTo(6);
        assertThat(after.sum("portico_upstream_reuse_ratio", "upstream=origin")).isBetween(0.5, 1.0);
        assertThat(after.sum("portico_upstream_connect_duration_seconds_count", "upstream=origin")).isGreaterThanOrEqualTo(1);
        assertThat(delta(before, after, "portico_received_bytes_total", "listener=http")).isGreaterThan(8 * 30);
        assertThat(delta(before, after, "portico_sent_bytes_total", "listener=http")).isGreaterThan(8 * 50);
        assertThat(after.sum("portico_connections_total", "listener=http")).isGreaterThanOrEqualTo(1);
        assertThat(after.sum("portico_connections_active", "listener=http")).isGreaterThanOrEqualTo(0);
        assertThat(after.sum("portico_upstream_backend_up", "upstream=origin")).isEqualTo(1);
        assertThat(after.sum("portico_upstream_pool_idle_connections", "upstream=origin")).isGreaterThanOrEqualTo(1);
        assertThat(after.has("portico_upstream_pool_active_connections")).isTrue();
        assertThat(after.has("portico_upstream_in_flight_requests")).isTrue();
        assertThat(after.has("portico_event_loop_pending_tasks")).isTrue();
    }

    private static double delta(Scrape before, Scrape after, String name, String... labels) {
        double b = before.sum(name, labels);
        return after.sum(name, labels) - (Double.isNaN(b) ? 0 : b);
    }

    @Test
    void statusAndUpstreamsDescribeTheRunningServer() throws Exception {
        HttpResponse<String> status = admin.get("/status");
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(status.body()).contains("\"config_generation\":1", "\"transport\":", "\"uptime_seconds\":",
                "\"name\":\"http\"", "\"address\":\"127.0.0.1:" + portico.port() + "\"", "\"version\":");
        HttpResponse<String> upstreams = admin.get("/upstreams");
        assertThat(upstreams.body()).contains("\"name\":\"origin\"", "\"address\":\"127.0.0.1:" + origin.port() + "\"",
                "\"healthy\":true", "\"in_flight\":0", "\"idle\":");
    }

    @Test
    void pipelinedRequestsBehindAReloadAreAnsweredInOrder() throws Exception {
        try (io.portico.server.it.RawHttp raw = new io.portico.server.it.RawHttp(portico.server().adminAddress().getPort())) {
            raw.send("POST /reload HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
                    + "GET /status HTTP/1.1\r\nHost: a\r\n\r\n");
            io.portico.server.it.RawHttp.Response reload = raw.read("POST");
            // This server was started from text, not a file: there is nothing to re-read.
            assertThat(reload.status()).isEqualTo(422);
            assertThat(reload.text()).contains("\"ok\":false", "without a config file");
            io.portico.server.it.RawHttp.Response status = raw.read();
            assertThat(status.status()).isEqualTo(200);
            assertThat(status.text()).contains("\"config_generation\":1");
        }
    }

    @Test
    void aWebPageCannotReloadButMayStillRead() throws Exception {
        HttpResponse<String> reload = admin.post("/reload", "Origin", "http://evil.example");
        assertThat(reload.statusCode()).isEqualTo(403);
        assertThat(reload.body()).contains("\"error\":\"refused: Origin http://evil.example");
        assertThat(admin.post("/reload", "Sec-Fetch-Site", "same-site").statusCode()).isEqualTo(403);
        // A DNS name could be rebound to 127.0.0.1 by the page that names it: not our own origin.
        try (io.portico.server.it.RawHttp raw = new io.portico.server.it.RawHttp(portico.server().adminAddress().getPort())) {
            raw.send("POST /reload HTTP/1.1\r\nHost: rebound.example:" + portico.server().adminAddress().getPort()
                    + "\r\nOrigin: http://rebound.example:" + portico.server().adminAddress().getPort()
                    + "\r\nContent-Length: 0\r\n\r\n");
            assertThat(raw.read("POST").status()).isEqualTo(403);
        }
        // Reads are as they were: the dashboard polls with GET from its own origin.
        HttpResponse<String> status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(admin.origin() + "/status")).header("Origin", "http://evil.example")
                        .header("Sec-Fetch-Site", "cross-site").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(status.statusCode()).isEqualTo(200);
        // Not refused for its origin: it gets as far as the reload (nothing to re-read here).
        assertThat(admin.post("/reload", "Origin", admin.origin(), "Sec-Fetch-Site", "same-origin").statusCode())
                .isEqualTo(422);
    }

    @Test
    void unknownPathsAndWrongMethodsGetClearAnswers() throws Exception {
        assertThat(admin.get("/nope").statusCode()).isEqualTo(404);
        assertThat(admin.get("/reload").statusCode()).isEqualTo(405);
        assertThat(admin.post("/metrics").statusCode()).isEqualTo(405);
        HttpResponse<String> ui = admin.get("/ui");
        assertThat(ui.statusCode()).isEqualTo(200);
        assertThat(ui.body()).contains("<canvas");
    }

    @Test
    void aTokenIsRequiredWhenConfiguredAndSecretsAreRedacted(@TempDir Path dir) throws Exception {
        Path token = dir.resolve("admin.token");
        Files.writeString(token, "s3cret-token\n");
        SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
        try (PorticoServer server = PorticoServer.start(ConfigLoader.parse("token.yaml", """
                workers: 1
                admin:
                  address: 127.0.0.1:0
                  token_file: "%s"
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: "%s", key: "%s"}]
                access_log: {enabled: false}
                servers:
                  - routes: [{match: {prefix: /}, respond: {status: 200, body: ok}}]
                """.formatted(token, cert.certificate(), cert.privateKey())))) {
            AdminClient anonymous = new AdminClient(server.adminAddress(), null);
            HttpResponse<String> refused = anonymous.get("/metrics");
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(refused.headers().firstValue("www-authenticate")).hasValue("Bearer realm=\"portico-admin\"");
            assertThat(new AdminClient(server.adminAddress(), "wrong").get("/status").statusCode()).isEqualTo(401);
            assertThat(anonymous.post("/reload").statusCode()).isEqualTo(401);
            // The page itself holds no data; it asks for the token.
            assertThat(anonymous.get("/ui").statusCode()).isEqualTo(200);

            AdminClient authorized = new AdminClient(server.adminAddress(), "s3cret-token");
            assertThat(authorized.get("/metrics").statusCode()).isEqualTo(200);
            HttpResponse<String> config = authorized.get("/config");
            assertThat(config.statusCode()).isEqualTo(200);
            assertThat(config.body())
                    .contains("\"token_file\":\"<redacted>\"", "\"key\":\"<redacted>\"",
                            "\"cert\":\"" + cert.certificate().toString().replace("\\", "\\\\") + "\"",
                            "\"reuse_port\":false", "\"shutdown_timeout\":\"30s\"")
                    .doesNotContain(token.toString(), cert.privateKey().toString(), "s3cret-token");
        } finally {
            cert.delete();
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"auto", "jdk"})
    void tlsHandshakesAreCountedByVersionAndResumption(String provider) throws Exception {
        SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
        try (PorticoServer server = PorticoServer.start(ConfigLoader.parse("tls.yaml", """
                workers: 1
                tls: {provider: %s}
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: "%s", key: "%s"}]
                access_log: {enabled: false}
                servers:
                  - routes: [{match: {prefix: /}, respond: {status: 200, body: ok}}]
                """.formatted(provider, cert.certificate(), cert.privateKey())))) {
            javax.net.ssl.SSLContext context = trusting(cert);
            URI uri = URI.create("https://localhost:" + server.address("https").getPort() + "/");
            // Two clients, two connections; the second resumes the first's session (same SSLContext).
            for (int i = 0; i < 2; i++) {
                HttpClient client = HttpClient.newBuilder().sslContext(context).version(HttpClient.Version.HTTP_1_1).build();
                assertThat(client.send(HttpRequest.newBuilder(uri).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("ok");
            }
            AdminClient a = new AdminClient(server.adminAddress(), null);
            await().untilAsserted(() -> {
                Scrape s = a.scrape();
                assertThat(s.sum("portico_tls_handshakes_total", "listener=https", "version=TLSv1.3", "resumed=false"))
                        .isEqualTo(1);
                assertThat(s.sum("portico_tls_handshakes_total", "listener=https", "version=TLSv1.3", "resumed=true"))
                        .isEqualTo(1);
            });
        } finally {
            cert.delete();
        }
    }

    static javax.net.ssl.SSLContext trusting(SelfSignedCertificate cert) throws Exception {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("portico", cert.cert());
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
