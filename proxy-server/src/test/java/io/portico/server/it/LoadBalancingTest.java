package io.portico.server.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** How requests spread over the members of one upstream group, counted at the origins. */
class LoadBalancingTest {

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

    /** A Portico whose catch-all route goes to group {@code g} of a, b and c. */
    private PorticoHarness group(String groupKeys, String extraA, String extraB, String extraC) throws Exception {
        return PorticoHarness.start("""
                upstreams:
                  g:
                %s
                    backends:
                      - address: 127.0.0.1:%d
                %s
                      - address: 127.0.0.1:%d
                %s
                      - address: 127.0.0.1:%d
                %s
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(groupKeys, a.port(), extraA, b.port(), extraB, c.port(), extraC));
    }

    /** Sends {@code n} requests one after another on one client connection; counts answers by origin name. */
    private static Map<String, Integer> spread(int port, int n, IntFunction<String> request) throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        try (RawHttp raw = new RawHttp(port)) {
            for (int i = 0; i < n; i++) {
                RawHttp.Response r = raw.send(request.apply(i)).read();
                String from = r.header("x-origin");
                assertThat(from).as("answer %d: %s", i, r.statusLine()).isNotNull();
                counts.merge(from, 1, Integer::sum);
            }
        }
        return counts;
    }

    private static String get(String target) {
        return "GET " + target + " HTTP/1.1\r\nHost: lb.test\r\n\r\n";
    }

    @Test
    void roundRobinWithEqualWeightsSharesExactlyOnOneConnection() throws Exception {
        try (PorticoHarness p = group("    balance: round_robin", "", "", "")) {
            Map<String, Integer> counts = spread(p.port(), 300, i -> get("/hello"));
            assertThat(counts).containsOnly(Map.entry("a", 100), Map.entry("b", 100), Map.entry("c", 100));
        }
    }

    @Test
    void roundRobinFollowsWeights() throws Exception {
        try (PorticoHarness p = group("    balance: round_robin", "        weight: 3", "", "")) {
            Map<String, Integer> counts = spread(p.port(), 300, i -> get("/hello"));
            assertThat(counts).containsOnly(Map.entry("a", 180), Map.entry("b", 60), Map.entry("c", 60));
        }
    }

    @Test
    void leastConnSharesAQuietGroupEvenly() throws Exception {
        try (PorticoHarness p = group("    balance: least_conn", "", "", "")) {
            Map<String, Integer> counts = spread(p.port(), 300, i -> get("/hello"));
            assertThat(counts).containsOnly(Map.entry("a", 100), Map.entry("b", 100), Map.entry("c", 100));
        }
    }

    @Test
    void leastConnAvoidsTheMemberWithARequestInFlight() throws Exception {
        try (PorticoHarness p = group("    balance: least_conn", "", "", "");
             RawHttp hanging = new RawHttp(p.port())) {
            hanging.send(get("/hang"));
            TestOrigin busy = awaitHang();
            Map<String, Integer> counts = spread(p.port(), 30, i -> get("/hello"));
            assertThat(counts).doesNotContainKey(name(busy)).hasSize(2).containsValues(15, 15);
        }
    }

    @Test
    void p2cSpreadsAQuietGroupFairly() throws Exception {
        try (PorticoHarness p = group("    balance: p2c", "", "", "")) {
            Map<String, Integer> counts = spread(p.port(), 300, i -> get("/hello"));
            // Ties are broken at random: 100 each expected, a standard deviation of about 8.
            assertThat(counts).containsOnlyKeys("a", "b", "c");
            assertThat(counts.values()).allSatisfy(n -> assertThat(n).isBetween(60, 140));
        }
    }

    @Test
    void p2cNeverPicksTheMostLoadedMember() throws Exception {
        try (PorticoHarness p = group("    balance: p2c", "", "", "");
             RawHttp hanging = new RawHttp(p.port())) {
            hanging.send(get("/hang"));
            TestOrigin busy = awaitHang();
            Map<String, Integer> counts = spread(p.port(), 60, i -> get("/hello"));
            assertThat(counts).doesNotContainKey(name(busy)).hasSize(2);
        }
    }

    @Test
    void consistentHashOnUriSendsOneUriToOneMemberAndSpreadsManyUris() throws Exception {
        try (PorticoHarness p = group("    balance: consistent_hash\n    hash: { key: uri }", "", "", "")) {
            Map<String, Integer> same = spread(p.port(), 30, i -> get("/item/42?v=1"));
            assertThat(same).hasSize(1).containsValue(30);
            Map<String, Integer> distinct = spread(p.port(), 300, i -> get("/item/" + i));
            assertThat(distinct).containsOnlyKeys("a", "b", "c");
            assertThat(distinct.values()).allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(45));
            Map<String, Integer> again = spread(p.port(), 300, i -> get("/item/" + i));
            assertThat(again).isEqualTo(distinct);
        }
    }

    @Test
    void consistentHashOnAHeaderKeepsEachUserOnOneMember() throws Exception {
        try (PorticoHarness p = group("    balance: consistent_hash\n    hash: { key: \"header:X-User\" }", "", "", "");
             RawHttp raw = new RawHttp(p.port())) {
            Map<String, String> memberOfUser = new HashMap<>();
            for (int round = 0; round < 3; round++) {
                for (int user = 0; user < 60; user++) {
                    RawHttp.Response r = raw.send("GET /hello?r=" + round + " HTTP/1.1\r\nHost: lb.test\r\n"
                            + "X-User: user-" + user + "\r\n\r\n").read();
                    String from = r.header("x-origin");
                    String before = memberOfUser.putIfAbsent("user-" + user, from);
                    assertThat(from).as("user-%d in round %d", user, round).isEqualTo(before == null ? from : before);
                }
            }
            assertThat(memberOfUser.values()).contains("a", "b", "c");
        }
    }

    @Test
    void aBackupTakesNoTrafficWhileThePrimariesAreUp() throws Exception {
        try (PorticoHarness p = group("    balance: round_robin", "", "", "        backup: true")) {
            Map<String, Integer> counts = spread(p.port(), 40, i -> get("/hello"));
            assertThat(counts).containsOnly(Map.entry("a", 20), Map.entry("b", 20));
            assertThat(c.requests.get()).isZero();
        }
    }

    @Test
    void aBackupAnswersWhenThePrimaryIsDown() throws Exception {
        int dead = BackendFaultsTest.unusedPort();
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  g:
                    max_fails: 1
                    backends:
                      - address: 127.0.0.1:%d
                      - address: 127.0.0.1:%d
                        backup: true
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(dead, c.port()))) {
            try (RawHttp raw = new RawHttp(p.port())) {
                for (int i = 0; i < 20; i++) {
                    RawHttp.Response r = raw.send(get("/hello")).read();
                    assertThat(r.status()).isEqualTo(200);
                    assertThat(r.text()).isEqualTo("hello from c");
                }
            }
        }
    }

    @Test
    void aMemberAtItsConnectionLimitIsPassedOver() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  g:
                    backends:
                      - address: 127.0.0.1:%d
                        max_connections: 1
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(a.port(), b.port()));
             RawHttp hanging = new RawHttp(p.port())) {
            hanging.send(get("/hang"));
            // The first pick of a fresh group is its first member.
            await().atMost(Duration.ofSeconds(5)).until(() -> a.requests.get() == 1);
            Map<String, Integer> counts = spread(p.port(), 10, i -> get("/hello"));
            assertThat(counts).containsOnly(Map.entry("b", 10));
            assertThat(a.connections.get()).isEqualTo(1);
        }
    }

    @Test
    void aBackupAnswersWhenThePrimaryIsFull() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  g:
                    backends:
                      - address: 127.0.0.1:%d
                        max_connections: 1
                      - address: 127.0.0.1:%d
                        backup: true
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(a.port(), c.port()));
             RawHttp hanging = new RawHttp(p.port())) {
            hanging.send(get("/hang"));
            await().atMost(Duration.ofSeconds(5)).until(() -> a.requests.get() == 1);
            assertThat(spread(p.port(), 5, i -> get("/hello"))).containsOnly(Map.entry("c", 5));
        }
    }

    @Test
    void aMemberAtItsConnectionLimitKeepsServingOverItsIdleConnection() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  g:
                    backends:
                      - address: 127.0.0.1:%d
                        max_connections: 1
                      - address: 127.0.0.1:%d
                        backup: true
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: g
                """.formatted(a.port(), c.port()))) {
            assertThat(spread(p.port(), 10, i -> get("/hello"))).containsOnly(Map.entry("a", 10));
            assertThat(a.connections.get()).isEqualTo(1);
        }
    }

    /** Waits until one origin has the hanging request and returns it. */
    private TestOrigin awaitHang() {
        TestOrigin[] found = new TestOrigin[1];
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            for (TestOrigin o : new TestOrigin[] {a, b, c}) {
                if (!o.heads.isEmpty() && o.heads.get(0).uri().equals("/hang")) {
                    found[0] = o;
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private String name(TestOrigin o) {
        return o == a ? "a" : o == b ? "b" : "c";
    }
}
