package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.ReloadResult;
import io.portico.server.config.ConfigLoader;
import io.portico.server.upstream.health.BackendStatus;
import io.portico.server.upstream.health.HealthState;
import io.netty.handler.codec.http.HttpRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A reload keeps the health of the members it keeps: what active checks, outlier detection and
 * max_fails have out stays out, the old config's checkers stop as the new one's start, and
 * connections still on the old config follow the new checks.
 */
class ReloadHealthTest {

    TestOrigin a;
    TestOrigin b;
    TestOrigin c;

    @BeforeEach
    void startOrigins() throws Exception {
        a = new TestOrigin("a");
        b = new TestOrigin("b");
        c = new TestOrigin("c");
    }

    @AfterEach
    void stopOrigins() {
        a.close();
        b.close();
        c.close();
    }

    /** A whole config: group {@code g} with {@code groupKeys} over {@code ports}, and {@code extra} at the top level. */
    private static String config(String groupKeys, String extra, int... ports) {
        StringBuilder backends = new StringBuilder();
        for (int port : ports) {
            backends.append("      - address: 127.0.0.1:").append(port).append('\n');
        }
        return """
                workers: 2
                admin:
                  address: 127.0.0.1:0
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                access_log:
                  enabled: false
                upstreams:
                  g:
                %s
                    backends:
                %s
                %s
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(groupKeys, backends, extra);
    }

    private static PorticoHarness start(String yaml) throws Exception {
        return PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", yaml)));
    }

    private static void reload(PorticoHarness p, String yaml) throws Exception {
        ReloadResult r = p.server().apply(ConfigLoader.parse("test.yaml", yaml), "test");
        assertThat(r.ok()).as(String.valueOf(r.error())).isTrue();
    }

    /** Another group, so that a reload changes the config but not group {@code g}. */
    private static final String OTHER_GROUP = """
              other:
                backends:
                  - address: 127.0.0.1:9
            """;

    private static BackendStatus member(PorticoHarness p, int index) {
        return p.server().upstream("g").status().members().get(index);
    }

    private static List<Integer> send(int port, int n) throws IOException {
        List<Integer> statuses = new ArrayList<>();
        try (RawHttp raw = new RawHttp(port)) {
            for (int i = 0; i < n; i++) {
                statuses.add(raw.send("GET /hello HTTP/1.1\r\nHost: rh.test\r\n\r\n").read().status());
            }
        }
        return statuses;
    }

    /** Health checks {@code origin} got for {@code path} (any request from the checker carries its User-Agent). */
    private static long probes(TestOrigin origin, String path) {
        return origin.heads.stream()
                .filter(h -> "portico-health-check".equals(h.headers().get("user-agent")))
                .map(HttpRequest::uri)
                .filter(path::equals)
                .count();
    }

    private static final String HTTP_CHECK = """
                health_check:
                  enabled: true
                  type: http
                  path: /health
                  interval: 200ms
                  jitter: 0s
                  timeout: 1s
                  rise: 2
                  fall: 2
            """;

    @Test
    void aMemberChecksHaveDownStaysOutRightAfterAReloadThatLeavesItsGroupAlone() throws Exception {
        try (PorticoHarness p = start(config(HTTP_CHECK, "", a.port(), b.port()))) {
            a.healthStatus = 503;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
            await().atMost(Duration.ofSeconds(5)).until(() -> HealthCheckTest.spread(p.port(), 4, "/hello")
                    .equals(Map.of("b", 4)));
            int toA = a.requests.get() - a.healthChecks.get();

            reload(p, config(HTTP_CHECK, OTHER_GROUP, a.port(), b.port()));
            // Before: the new group started with a UP, and requests went to it until fall checks failed.
            assertThat(member(p, 0).state()).isEqualTo(HealthState.DOWN);
            assertThat(member(p, 0).reason()).isEqualTo("status 503");
            assertThat(HealthCheckTest.spread(p.port(), 20, "/hello")).containsOnly(Map.entry("b", 20));
            assertThat(a.requests.get() - a.healthChecks.get()).isEqualTo(toA);

            // The new config's checker runs: a comes back after rise passed checks.
            a.healthStatus = 200;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.UP);
            await().atMost(Duration.ofSeconds(10)).until(() -> HealthCheckTest.spread(p.port(), 10, "/hello").size() == 2);
        }
    }

    @Test
    void anEjectedMemberStaysEjectedAcrossAReloadWithItsEndKept() throws Exception {
        String keys = """
                    outlier:
                      consecutive_5xx: 3
                      base_ejection_time: 30s
                      max_ejection_percent: 50
                """;
        try (PorticoHarness p = start(config(keys, "", a.port(), b.port(), c.port()))) {
            a.failWith = 500;
            assertThat(send(p.port(), 9)).containsExactly(500, 200, 200, 500, 200, 200, 500, 200, 200);
            assertThat(member(p, 0).state()).isEqualTo(HealthState.EJECTED);
            Duration left = member(p, 0).ejectedFor();

            reload(p, config(keys, OTHER_GROUP, a.port(), b.port(), c.port()));
            BackendStatus after = member(p, 0);
            assertThat(after.state()).isEqualTo(HealthState.EJECTED);
            assertThat(after.reason()).isEqualTo("3 consecutive 5xx responses");
            assertThat(after.ejections()).isEqualTo(1);
            // The same end: not a fresh 30s, and not over.
            assertThat(after.ejectedFor()).isLessThanOrEqualTo(left).isGreaterThan(Duration.ofSeconds(20));
            assertThat(send(p.port(), 30)).containsOnly(200);
            assertThat(member(p, 1).state()).isEqualTo(HealthState.UP);
        }
    }

    @Test
    void aMemberMaxFailsHasOutStaysOutAcrossAReload() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String keys = """
                    max_fails: 1
                    fail_timeout: 30s
                """;
        try (PorticoHarness p = start(config(keys, "", closed, b.port()))) {
            // The failed connect is retried on b; the closed port is out for 30s.
            assertThat(send(p.port(), 4)).containsOnly(200);
            assertThat(member(p, 0).state()).isEqualTo(HealthState.FAILED);

            reload(p, config(keys, OTHER_GROUP, closed, b.port()));
            assertThat(member(p, 0).state()).isEqualTo(HealthState.FAILED);
            assertThat(member(p, 1).state()).isEqualTo(HealthState.UP);
        }
    }

    @Test
    void afterAReloadOnlyTheNewConfigsCheckerProbesWhileTheOldConfigLivesOn() throws Exception {
        try (PorticoHarness p = start(config(HTTP_CHECK, "", a.port(), b.port()))) {
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).lastCheck() != null);
            try (RawHttp old = new RawHttp(p.port())) {
                // A request in flight on the first config keeps it (and, before, its checkers) alive.
                old.send("GET /held HTTP/1.1\r\nHost: hc.test\r\n\r\n");
                await().atMost(Duration.ofSeconds(5)).until(() -> a.held.get() + b.held.get() == 1);

                reload(p, config(HTTP_CHECK, OTHER_GROUP, a.port(), b.port()));
                assertThat(p.server().retiredGenerations()).isEqualTo(1);
                int from = a.healthCheckNanos.size();
                await().atMost(Duration.ofSeconds(10)).until(() -> a.healthCheckNanos.size() >= from + 8);
                // One checker every 200ms: a probe starts at least an interval after the one before it ended.
                // Two (the old config's and the new one's) would put some two probes closer than half of it.
                // The first two after the reload may be the old checker's last and the new one's first.
                List<Long> times = a.healthCheckNanos.subList(from + 2, from + 8);
                for (int i = 1; i < times.size(); i++) {
                    assertThat(Duration.ofNanos(times.get(i) - times.get(i - 1))).as("gap %d", i)
                            .isGreaterThanOrEqualTo(Duration.ofMillis(190));
                }
                assertThat(p.server().retiredGenerations()).isEqualTo(1);

                // The new config's checks take the member out and bring it back.
                a.healthStatus = 503;
                await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
                await().atMost(Duration.ofSeconds(5)).until(() ->
                        HealthCheckTest.spread(p.port(), 4, "/hello").equals(Map.of("b", 4)));
                a.healthStatus = 200;
                await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.UP);

                // The request in flight is answered on the old config, which then closes.
                a.releaseHeld();
                b.releaseHeld();
                RawHttp.Response r = old.read();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("connection")).isEqualTo("close");
                await().atMost(Duration.ofSeconds(10)).until(() -> p.server().retiredGenerations() == 0);
            }
        }
    }

    @Test
    void aReloadThatChangesTheCheckKeepsTheStateAndChecksTheNewWay() throws Exception {
        try (PorticoHarness p = start(config(HTTP_CHECK, "", a.port(), b.port()))) {
            a.healthStatus = 503;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);

            String changed = """
                        health_check:
                          enabled: true
                          type: http
                          path: /status/204
                          expected_status: "204"
                          interval: 100ms
                          jitter: 0s
                          timeout: 1s
                          rise: 3
                          fall: 2
                    """;
            reload(p, config(changed, "", a.port(), b.port()));
            // Kept down until the new check has passed rise (3) times.
            assertThat(member(p, 0).state()).isEqualTo(HealthState.DOWN);
            assertThat(HealthCheckTest.spread(p.port(), 10, "/hello")).containsOnly(Map.entry("b", 10));
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.UP);
            assertThat(probes(a, "/status/204")).isGreaterThanOrEqualTo(3);
            assertThat(member(p, 1).state()).isEqualTo(HealthState.UP);

            // The old path is no longer probed.
            long oldPath = probes(a, "/health");
            long newPath = probes(a, "/status/204");
            await().atMost(Duration.ofSeconds(5)).until(() -> probes(a, "/status/204") >= newPath + 5);
            assertThat(probes(a, "/health")).isEqualTo(oldPath);
            await().atMost(Duration.ofSeconds(10)).until(() -> HealthCheckTest.spread(p.port(), 10, "/hello").size() == 2);

            // Checks turned off: nothing is kept down by checks that no longer run.
            a.healthStatus = 503;
            reload(p, config(changed.replace("path: /status/204", "path: /health")
                    .replace("expected_status: \"204\"", "expected_status: \"200\""), "", a.port(), b.port()));
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
            reload(p, config("", "", a.port(), b.port()));
            assertThat(member(p, 0).state()).isEqualTo(HealthState.UP);
            assertThat(HealthCheckTest.spread(p.port(), 10, "/hello")).containsOnly(Map.entry("a", 5), Map.entry("b", 5));
        }
    }
}
