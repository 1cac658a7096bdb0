package io.portico.server.it;

import io.portico.server.upstream.health.BackendStatus;
import io.portico.server.upstream.health.HealthState;
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

/** Passive outlier detection and slow start, seen from real origins. */
class OutlierDetectionTest {

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

    private PorticoHarness group(String groupKeys, int... ports) throws Exception {
        StringBuilder backends = new StringBuilder();
        for (int port : ports) {
            backends.append("          - address: 127.0.0.1:").append(port).append('\n');
        }
        return PorticoHarness.start("""
                upstreams:
                  g:
                %s
                    backends:
                %s
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(groupKeys, backends));
    }

    private static BackendStatus member(PorticoHarness p, int index) {
        return p.server().upstream("g").status().members().get(index);
    }

    /** Sends {@code n} requests on one connection; returns the statuses. */
    private static List<Integer> send(int port, int n) throws IOException {
        List<Integer> statuses = new ArrayList<>();
        try (RawHttp raw = new RawHttp(port)) {
            for (int i = 0; i < n; i++) {
                statuses.add(raw.send("GET /hello HTTP/1.1\r\nHost: od.test\r\n\r\n").read().status());
            }
        }
        return statuses;
    }

    @Test
    void consecutive5xxEjectWithABackoffThatDoublesWhileTheMemberKeepsFailing() throws Exception {
        String keys = """
                    outlier:
                      consecutive_5xx: 3
                      base_ejection_time: 1s
                      max_ejection_time: 10s
                      max_ejection_percent: 50
                """;
        try (PorticoHarness p = group(keys, a.port(), b.port(), c.port())) {
            a.failWith = 500;
            // Round robin: a sees every third request; its third 5xx in a row ejects it.
            assertThat(send(p.port(), 9)).containsExactly(500, 200, 200, 500, 200, 200, 500, 200, 200);
            BackendStatus ejected = member(p, 0);
            assertThat(ejected.state()).isEqualTo(HealthState.EJECTED);
            assertThat(ejected.reason()).isEqualTo("3 consecutive 5xx responses");
            assertThat(ejected.ejections()).isEqualTo(1);
            assertThat(ejected.ejectedFor()).isLessThanOrEqualTo(Duration.ofSeconds(1));
            await().atMost(Duration.ofSeconds(2)).until(() -> send(p.port(), 6).stream().allMatch(s -> s == 200));

            // Back after 1s and still failing, within a second: the second ejection lasts 2s.
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.UP);
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                send(p.port(), 6);
                return member(p, 0).ejections() == 2;
            });
            assertThat(member(p, 0).ejectedFor()).isGreaterThan(Duration.ofSeconds(1))
                    .isLessThanOrEqualTo(Duration.ofSeconds(2));

            // Healthy again: once back it takes its share with no ejection.
            a.failWith = 0;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.UP);
            assertThat(send(p.port(), 30)).containsOnly(200);
            assertThat(member(p, 0).ejections()).isEqualTo(2);
        }
    }

    @Test
    void maxEjectionPercentKeepsAFailingMemberInWhenTheGroupHasItsShareOut() throws Exception {
        String keys = """
                    outlier:
                      consecutive_5xx: 2
                      base_ejection_time: 30s
                      max_ejection_percent: 50
                """;
        try (PorticoHarness p = group(keys, a.port(), b.port(), c.port())) {
            a.failWith = 502;
            b.failWith = 503;
            send(p.port(), 12);

            // 50% of 3 is one member: the first to fail twice in a row is out, the other stays in.
            List<HealthState> states = List.of(member(p, 0).state(), member(p, 1).state(), member(p, 2).state());
            assertThat(states).containsExactly(HealthState.EJECTED, HealthState.UP, HealthState.UP);
            assertThat(p.server().upstream("g").status().available()).isEqualTo(2);
            assertThat(send(p.port(), 10)).contains(503).doesNotContain(502);
        }
    }

    @Test
    void consecutiveConnectFailuresEjectAMemberWithNothingListening() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        String keys = """
                    max_fails: 0
                    outlier:
                      consecutive_connect_failures: 2
                      base_ejection_time: 30s
                """;
        try (PorticoHarness p = group(keys, closed, b.port())) {
            // Failed connects are retried on b, so every client request still succeeds.
            assertThat(send(p.port(), 6)).containsOnly(200);
            BackendStatus dead = member(p, 0);
            assertThat(dead.state()).isEqualTo(HealthState.EJECTED);
            assertThat(dead.reason()).startsWith("2 consecutive connect failures");
        }
    }

    @Test
    void slowStartRampsTrafficToAMemberThatCameBack() throws Exception {
        String keys = """
                    slow_start: 3s
                    health_check:
                      enabled: true
                      path: /health
                      interval: 50ms
                      jitter: 0s
                      rise: 1
                      fall: 1
                """;
        try (PorticoHarness p = group(keys, a.port(), b.port())) {
            a.healthStatus = 500;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.DOWN);
            await().atMost(Duration.ofSeconds(5)).until(() -> HealthCheckTest.spread(p.port(), 4, "/hello")
                    .equals(Map.of("b", 4)));

            a.healthStatus = 200;
            await().atMost(Duration.ofSeconds(5)).until(() -> member(p, 0).state() == HealthState.SLOW_START);
            assertThat(member(p, 0).effectiveWeight()).isLessThan(1.0);
            double early = share(p, "a");
            // However long the batch took on a busy machine, a's weight was at most this fraction of b's
            // during it, so its share of the batch is at most about w / (1 + w).
            double reached = member(p, 0).effectiveWeight();
            assertThat(early).isLessThanOrEqualTo(reached / (1 + reached) + 0.05);

            await().atMost(Duration.ofSeconds(10)).until(() -> member(p, 0).state() == HealthState.UP);
            // The loops' ramps end within one step of the shared clock.
            await().atMost(Duration.ofSeconds(2)).until(() -> share(p, "a") == 0.5);
        }
    }

    /** The share of 100 requests on one connection that {@code origin} answered. */
    private static double share(PorticoHarness p, String origin) throws IOException {
        return HealthCheckTest.spread(p.port(), 100, "/hello").getOrDefault(origin, 0) / 100.0;
    }
}
