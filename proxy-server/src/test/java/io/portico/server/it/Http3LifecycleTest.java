package io.portico.server.it;

import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigException;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.PorticoConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** HTTP/3's place in a listener's life: config checks, graceful shutdown with GOAWAY. */
class Http3LifecycleTest {

    private SelfSignedCertificate cert;
    private ScriptedOrigin origin;
    private PorticoServer server;
    private H3Client client;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (origin != null) {
            origin.close();
        }
        if (cert != null) {
            cert.delete();
        }
    }

    @Test
    void http3OnAPlainListenerIsAConfigErrorNamingTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("test.yaml", """
                listeners:
                  - address: 127.0.0.1:0
                    http3: {enabled: true}
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("test.yaml:3").hasMessageContaining("http3.enabled").hasMessageContaining("tls");
    }

    @Test
    void http3WithTls12OnlyIsAConfigError() {
        assertThatThrownBy(() -> ConfigLoader.parse("test.yaml", """
                listeners:
                  - address: 127.0.0.1:0
                    tls: {protocols: [TLSv1.2]}
                    http3: {enabled: true}
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                """)).isInstanceOf(ConfigException.class).hasMessageContaining("TLSv1.3");
    }

    @Test
    void shutdownSendsGoAwayLetsTheStreamInFlightFinishThenClosesTheConnection() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/slow", r -> ScriptedOrigin.Reply.ok("finished after the drain began").delayed(800));
        CompletableFuture<H3Client.Response> inFlight = startWithASlowRequest("alt_svc_max_age: 0");

        CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> server.shutdown(Duration.ofSeconds(10)));
        H3Client.Response r = inFlight.get();
        assertThat(r.status()).as(r::describe).isEqualTo(200);
        assertThat(r.body()).isEqualTo("finished after the drain began");
        assertThat(client.quic.pipeline().get(Http3ClientConnectionHandler.class).isGoAwayReceived()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !client.quic.isActive());
        shutdown.get();
    }

    @Test
    void aReloadThatRemovesTheListenerLetsTheHttp3StreamInFlightFinishAfterGoAway() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/slow", r -> ScriptedOrigin.Reply.ok("finished after the listener left").delayed(800));
        String upstream = """
                access_log: {enabled: false}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(origin.port());
        server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: %s, key: %s}]
                    http3: {enabled: true, alt_svc_max_age: 0}
                """.formatted(cert.certificate(), cert.privateKey()) + upstream));
        client = new H3Client(server.http3Address("https").getPort(), cert.cert());
        CompletableFuture<H3Client.Response> inFlight = CompletableFuture.supplyAsync(() -> {
            try {
                return client.get("/slow");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> origin.hits("/slow") == 1);

        var result = server.apply(ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                """ + upstream), "test");
        assertThat(result.ok()).as(String.valueOf(result.error())).isTrue();

        H3Client.Response r = inFlight.get();
        assertThat(r.status()).as(r::describe).isEqualTo(200);
        assertThat(r.body()).isEqualTo("finished after the listener left");
        assertThat(client.quic.pipeline().get(Http3ClientConnectionHandler.class).isGoAwayReceived()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !client.quic.isActive());
        await().atMost(Duration.ofSeconds(10)).until(() -> server.retiredGenerations() == 0);
    }

    @Test
    void withReusePortEverySocketServesAndTheAccessLogSaysHttp3() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/hi", r -> ScriptedOrigin.Reply.ok("hi"));
        Path log = Files.createTempFile("portico-h3", ".log");
        try {
            server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                    workers: 2
                    admin: {address: "127.0.0.1:0"}
                    listeners:
                      - name: https
                        address: 127.0.0.1:0
                        reuse_port: true
                        tls:
                          certificates: [{cert: %s, key: %s}]
                        http3: {enabled: true}
                    access_log: {enabled: true, path: %s}
                    upstreams:
                      origin:
                        backends: [{address: "127.0.0.1:%d"}]
                    servers:
                      - routes: [{match: {prefix: /}, upstream: origin}]
                    """.formatted(cert.certificate(), cert.privateKey(), log, origin.port())));
            int port = server.http3Address("https").getPort();
            // Several connections from several source ports: the kernel spreads them over the
            // sockets, and each packet still reaches the loop that owns its connection.
            for (int i = 0; i < 4; i++) {
                try (H3Client c = new H3Client(port, cert.cert())) {
                    for (int j = 0; j < 3; j++) {
                        H3Client.Response r = c.get("/hi");
                        assertThat(r.status()).as(r::describe).isEqualTo(200);
                        assertThat(r.body()).isEqualTo("hi");
                    }
                }
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> Files.readAllLines(log).size() >= 12);
            assertThat(Files.readAllLines(log)).allSatisfy(line -> assertThat(line).contains("\"GET /hi HTTP/3.0\" 200 "));
        } finally {
            server.close();
            server = null;
            Files.deleteIfExists(log);
        }
    }

    @Test
    void anUploadThatStallsIsResetAfterStreamIdleTimeoutAndNeverCompletesUpstream() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        server = PorticoServer.start(h3Config("stream_idle_timeout: 1s"));
        client = new H3Client(server.http3Address("https").getPort(), cert.cert());
        var head = client.headers("POST", "/upload");
        head.setInt("content-length", 100);
        H3Client.Response r = client.sendWithoutEnd(head, new byte[10]).await();
        assertThat(r.status()).as(r::describe).isEqualTo(-1);
        assertThat(r.resetCode).as(r::describe).isPositive();
        assertThat(origin.hits("/upload")).isZero();
        assertThat(server.metrics().listener("https").http3().snapshot()).containsEntry("stream_idle_timeout", 1L);
        assertThat(client.get("/other").status()).as("the connection still serves").isNotEqualTo(-1);
    }

    /**
     * alt_svc_max_age and stream_idle_timeout are not QUIC transport settings: a reload that changes
     * them keeps the UDP sockets, so the QUIC connection and its stream in flight carry on.
     */
    @Test
    void aReloadThatChangesOnlyAltSvcAndStreamIdleTimeoutKeepsTheQuicConnectionAndItsStreamInFlight()
            throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/slow", r -> ScriptedOrigin.Reply.ok("finished across the reload").delayed(800));
        origin.on("/hi", r -> ScriptedOrigin.Reply.ok("hi"));
        CompletableFuture<H3Client.Response> inFlight = startWithASlowRequest("alt_svc_max_age: 100, stream_idle_timeout: 30s");
        int port = server.http3Address("https").getPort();

        var result = server.apply(h3Config("alt_svc_max_age: 200, stream_idle_timeout: 40s"), "test");
        assertThat(result.ok()).as(String.valueOf(result.error())).isTrue();

        H3Client.Response r = inFlight.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.status()).as(r::describe).isEqualTo(200);
        assertThat(r.body()).isEqualTo("finished across the reload");
        assertThat(client.quic.isActive()).isTrue();
        assertThat(client.get("/hi").body()).isEqualTo("hi");
        assertThat(server.http3Address("https").getPort()).isEqualTo(port);
        HttpClient tcp = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(TlsProxyingTest.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> answer = tcp.send(HttpRequest.newBuilder(
                URI.create("https://localhost:" + server.address("https").getPort() + "/hi")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.headers().allValues("alt-svc")).containsExactly("h3=\":" + port + "\"; ma=200");
    }

    /**
     * A shutdown whose time runs out with a stream still in flight closes the QUIC connection with
     * H3_INTERNAL_ERROR, an HTTP/3 code, rather than QUIC's default application code 0, which
     * HTTP/3 does not define.
     */
    @Test
    void aShutdownWhoseTimeRunsOutClosesTheQuicConnectionWithAnHttp3Code() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/slow", r -> ScriptedOrigin.Reply.ok("too late").delayed(5000));
        startWithASlowRequest("alt_svc_max_age: 0");
        server.shutdown(Duration.ofMillis(300));
        await().atMost(Duration.ofSeconds(5)).until(() -> client.closedBy != null);
        assertThat(client.closedBy.isApplicationClose()).isTrue();
        assertThat((long) client.closedBy.error()).isEqualTo(Http3ErrorCode.H3_INTERNAL_ERROR.code());
    }

    /**
     * A reload that changes QUIC transport settings restarts the UDP side: the connections on the
     * old sockets are told so with CONNECTION_CLOSE, rather than left to find out at their idle timeout.
     */
    @Test
    void aReloadThatRestartsTheUdpSideClosesItsQuicConnectionsSayingSo() throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/slow", r -> ScriptedOrigin.Reply.ok("too late").delayed(5000));
        origin.on("/hi", r -> ScriptedOrigin.Reply.ok("hi"));
        CompletableFuture<H3Client.Response> inFlight = startWithASlowRequest("max_streams: 100");
        int port = server.http3Address("https").getPort();
        try (H3Client idle = new H3Client(port, cert.cert())) {
            assertThat(idle.get("/hi").body()).isEqualTo("hi");

            var result = server.apply(h3Config("max_streams: 64"), "test");
            assertThat(result.ok()).as(String.valueOf(result.error())).isTrue();

            H3Client.Response cut = inFlight.get(4, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(cut.status()).as(cut::describe).isEqualTo(-1);
            await().atMost(Duration.ofSeconds(4)).until(() -> client.closedBy != null && idle.closedBy != null);
            assertThat(client.closedBy.isApplicationClose()).isTrue();
            assertThat((long) client.closedBy.error()).isEqualTo(Http3ErrorCode.H3_INTERNAL_ERROR.code());
            assertThat(idle.closedBy.isApplicationClose()).isTrue();
            assertThat((long) idle.closedBy.error()).isEqualTo(Http3ErrorCode.H3_NO_ERROR.code());
        }
        try (H3Client fresh = new H3Client(server.http3Address("https").getPort(), cert.cert())) {
            assertThat(fresh.get("/hi").body()).isEqualTo("hi");
        }
    }

    /** One HTTP/3 listener in front of {@link #origin}, its {@code http3} mapping given {@code http3Settings} besides enabled. */
    private PorticoConfig h3Config(String http3Settings) throws ConfigException {
        return ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: %s, key: %s}]
                    http3: {enabled: true, %s}
                access_log: {enabled: false}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(cert.certificate(), cert.privateKey(), http3Settings, origin.port()));
    }

    /** Starts Portico with {@link #reloadConfig} and {@link #client} on it, and a GET of /slow in flight at the origin. */
    private CompletableFuture<H3Client.Response> startWithASlowRequest(String http3Settings) throws Exception {
        server = PorticoServer.start(h3Config(http3Settings));
        client = new H3Client(server.http3Address("https").getPort(), cert.cert());
        CompletableFuture<H3Client.Response> inFlight = CompletableFuture.supplyAsync(() -> {
            try {
                return client.get("/slow");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> origin.hits("/slow") == 1);
        return inFlight;
    }
}
