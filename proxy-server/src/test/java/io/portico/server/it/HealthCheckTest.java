package io.portico.server.it;

import io.portico.server.admin.AdminClient;
import io.portico.server.metrics.DashboardHistory;
import io.portico.server.upstream.health.BackendStatus;
import io.portico.server.upstream.health.GroupStatus;
import io.portico.server.upstream.health.HealthState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Active health checks against real origins: out after {@code fall} failed checks, back after {@code rise}. */
class HealthCheckTest {

    TestOrigin a;
    TestOrigin b;

    @BeforeEach
    void startOrigins() throws Exception {
        a = new TestOrigin("a");
        b = new TestOrigin("b");
    }

    @AfterEach
    void stopOrigins() {
        a.close();
        b.close();
    }

    private PorticoHarness group(String groupKeys, int portA, int portB) throws Exception {
        return PorticoHarness.start("""
                upstreams:
                  g:
                %s
                    backends:
                      - address: 127.0.0.1:%d
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(groupKeys, portA, portB));
    }

    static BackendStatus member(PorticoHarness p, int index) {
        GroupStatus s = p.server().upstream("g").status();
        return s.members().get(index);
    }

    static Map<String, Integer> spread(int port, int n, String path) throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        try (RawHttp raw = new RawHttp(port)) {
            for (int i = 0; i < n; i++) {
                RawHttp.Response r = raw.send("GET " + path + " HTTP/1.1\r\nHost: hc.test\r\n\r\n").read();
                assertThat(r.status()).as("answer %d", i).isEqualTo(200);
                counts.merge(r.header("x-origin"), 1, Integer::sum);
            }
        }
        return counts;
    }

    private static final String HTTP_CHECK = """
                health_check:
                  enabled: true
                  type: http
                  path: /health
                  interval: 50ms
                  jitter: 0s
                  timeout: 1s
                  rise: 2
                  fall: 3
            """;

    @Test
    void anOriginFailingItsHttpCheckLeavesRotationAfterFallChecksAndReturnsAfterRise() throws Exception {
        try (PorticoHarness p = group(HTTP_CHECK, a.port(), b.port())) {
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).lastCheck() != null);
            assertThat(member(p, 0).state()).isEqualTo(HealthState.UP);
            assertThat(spread(p.port(), 10, "/hello")).containsOnly(Map.entry("a", 5), Map.entry("b", 5));

            int before = a.healthChecks.get();
            a.healthStatus = 503;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
            // At least fall (3) failed checks; the one in flight when the status flipped may have passed.
            assertThat(a.healthChecks.get() - before).isGreaterThanOrEqualTo(3);
            assertThat(member(p, 0).reason()).isEqualTo("status 503");
            assertThat(member(p, 0).effectiveWeight()).isZero();
            // The admin listener says which member is out and why (it said only healthy: false).
            String upstreams = new AdminClient(p.server().adminAddress(), null).get("/upstreams").body();
            assertThat(upstreams).contains("\"state\":\"DOWN\"", "\"reason\":\"status 503\"", "\"state\":\"UP\"");
            assertThat(p.server().upstream("g").status().available()).isEqualTo(1);
            // The dashboard's once-a-second sample counts it out too.
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                List<DashboardHistory.Sample> samples = p.server().history().samples();
                return !samples.isEmpty() && samples.get(samples.size() - 1).backendsUp() == 1
                        && samples.get(samples.size() - 1).backendsTotal() == 2;
            });
            // The loops take the news as a task; a request right after may still go out once.
            await().atMost(Duration.ofSeconds(5)).until(() -> spread(p.port(), 4, "/hello").equals(Map.of("b", 4)));
            int requestsToA = a.requests.get() - a.healthChecks.get();
            assertThat(spread(p.port(), 20, "/hello")).containsOnly(Map.entry("b", 20));
            assertThat(a.requests.get() - a.healthChecks.get()).isEqualTo(requestsToA);

            int down = a.healthChecks.get();
            a.healthStatus = 200;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.UP);
            assertThat(a.healthChecks.get() - down).isGreaterThanOrEqualTo(2);
            assertThat(member(p, 0).reason()).isEmpty();
            await().atMost(Duration.ofSeconds(15)).until(() -> spread(p.port(), 10, "/hello").size() == 2);
        }
    }

    @Test
    void aBodyThatDoesNotMatchFailsTheCheck() throws Exception {
        String keys = HTTP_CHECK + """
                      body_matches: "^heal+thy$"
                """;
        try (PorticoHarness p = group(keys, a.port(), b.port())) {
            a.healthBody = "sick";
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
            assertThat(member(p, 0).reason()).isEqualTo("body does not match /^heal+thy$/");
            assertThat(member(p, 1).state()).isEqualTo(HealthState.UP);
            assertThat(member(p, 1).lastCheckPassed()).isTrue();
        }
    }

    @Test
    void aTcpCheckOnAClosedPortTakesTheMemberOutAndRequestsNeverWaitOnIt() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String keys = """
                    retry: { attempts: 1 }
                    max_fails: 0
                    health_check:
                      enabled: true
                      type: tcp
                      interval: 50ms
                      timeout: 1s
                      fall: 1
                """;
        try (PorticoHarness p = group(keys, closed, b.port())) {
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
            assertThat(member(p, 0).reason()).startsWith("connect failed");
            assertThat(member(p, 1).state()).isEqualTo(HealthState.UP);
            // No retries and no max_fails: only the health check keeps requests off the dead port.
            await().atMost(Duration.ofSeconds(5)).until(() -> spread(p.port(), 2, "/hello").equals(Map.of("b", 2)));
            assertThat(spread(p.port(), 30, "/hello")).containsOnly(Map.entry("b", 30));
        }
    }

    @Test
    void withEveryMemberDownRequestsGet503() throws Exception {
        try (PorticoHarness p = group(HTTP_CHECK, a.port(), b.port())) {
            a.healthStatus = 500;
            b.healthStatus = 500;
            await().atMost(Duration.ofSeconds(5)).until(() -> p.server().upstream("g").status().available() == 0);
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                try (RawHttp raw = new RawHttp(p.port())) {
                    return raw.send("GET /hello HTTP/1.1\r\nHost: hc.test\r\n\r\n").read().status() == 503;
                }
            });
        }
    }
}
