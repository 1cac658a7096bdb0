package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;

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

/**
 * Upstream host names go through the resolver on every new connection: when the name's answer
 * changes, traffic follows it once the TTL runs out, without a restart. A test DNS server on
 * loopback is the only authority for the names used here.
 */
class DnsReresolutionTest {

    private static final String NAME = "backend.portico.test";

    @Test
    void followsABackendNameToItsNewAddressOnceTheTtlRunsOut() throws Exception {
        try (TestDnsServer dns = new TestDnsServer(1);
             TestOrigin a = new TestOrigin("a", "127.0.0.1", 0);
             TestOrigin b = new TestOrigin("b", "127.0.0.2", a.port())) {
            dns.answer(NAME, "127.0.0.1");
            try (PorticoHarness p = PorticoHarness.start("""
                    resolver:
                      nameservers: ["%s"]
                    upstreams:
                      app:
                        backends:
                          - address: %s:%d
                        pool: { max_idle: 0 }
                    servers:
                      - routes:
                          - match: { prefix: / }
                            upstream: app
                    """.formatted(dns.hostPort(), NAME, a.port()))) {
                HttpClient client = PorticoHarness.client();

                assertThat(hello(client, p.uri("/hello"))).isEqualTo("hello from a");
                assertThat(hello(client, p.uri("/hello"))).isEqualTo("hello from a");
                assertThat(b.requests.get()).isZero();

                dns.answer(NAME, "127.0.0.2");
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                        .until(() -> hello(client, p.uri("/hello")).equals("hello from b"));

                assertThat(hello(client, p.uri("/hello"))).isEqualTo("hello from b");
                assertThat(a.requests.get()).isGreaterThanOrEqualTo(2);
                assertThat(dns.queries(NAME)).as("queries for %s: one at first, again after the TTL", NAME)
                        .isGreaterThan(1);
            }
        }
    }

    @Test
    void unresolvableBackendGives502AndTheAccessLogSaysTheConnectFailed(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        // One attempt: a failed name is cached for negative_ttl, so the DNS server sees one query.
        try (TestDnsServer dns = new TestDnsServer(1)) {
            PorticoServer server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                    workers: 2
                    admin: {address: "127.0.0.1:0"}
                    listeners:
                      - name: http
                        address: 127.0.0.1:0
                    access_log:
                      path: "%s"
                    resolver:
                      nameservers: ["%s"]
                      negative_ttl: 30s
                    upstreams:
                      app:
                        backends:
                          - address: nowhere.portico.test:8080
                        retry: { attempts: 1 }
                    servers:
                      - routes:
                          - match: { prefix: / }
                            upstream: app
                    """.formatted(log, dns.hostPort())));
            try (server) {
                URI uri = URI.create("http://127.0.0.1:" + server.address("http").getPort() + "/x");
                HttpClient client = PorticoHarness.client();

                HttpResponse<String> first = client.send(HttpRequest.newBuilder(uri).build(),
                        HttpResponse.BodyHandlers.ofString());
                HttpResponse<String> second = client.send(HttpRequest.newBuilder(uri).build(),
                        HttpResponse.BodyHandlers.ofString());

                assertThat(first.statusCode()).isEqualTo(502);
                String id = first.headers().firstValue("x-request-id").orElseThrow();
                assertThat(first.body()).contains("502 Bad Gateway").contains("request_id: " + id);
                assertThat(second.statusCode()).isEqualTo(502);
                assertThat(dns.queries("nowhere.portico.test"))
                        .as("the NXDOMAIN is cached for negative_ttl, so the second request asks nobody")
                        .isEqualTo(1);
                server.accessLog().flush();
                assertThat(Files.readAllLines(log)).anySatisfy(line -> assertThat(line)
                        .contains("request_id=" + id).contains(" 502 ").contains("error=upstream_connect_failed"));
            }
        }
    }

    private static String hello(HttpClient client, URI uri) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }
}
