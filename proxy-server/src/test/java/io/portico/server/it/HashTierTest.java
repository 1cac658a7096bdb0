package io.portico.server.it;

import io.portico.server.upstream.health.HealthState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An edge node hashing URIs over three origins, as a CDN edge spreads objects over its cache tier:
 * each URL always lands on the same node, a node that stops loses only its own URLs and gets them
 * back when its health check passes again, and a hot URL is served by two nodes.
 */
class HashTierTest {

    private static final int URLS = 300;

    TestOrigin[] origins = new TestOrigin[3];

    @BeforeEach
    void startOrigins() throws Exception {
        for (int i = 0; i < 3; i++) {
            origins[i] = new TestOrigin("node" + i);
        }
    }

    @AfterEach
    void stopOrigins() {
        for (TestOrigin o : origins) {
            o.close();
        }
    }

    private PorticoHarness edge(String hashKeys) throws Exception {
        return PorticoHarness.start("""
                upstreams:
                  tier:
                    balance: consistent_hash
                    hash:
                      key: uri
                %s
                    retry: { attempts: 1 }
                    max_fails: 0
                    health_check:
                      enabled: true
                      type: tcp
                      interval: 50ms
                      jitter: 0s
                      rise: 1
                      fall: 1
                    backends:
                      - address: 127.0.0.1:%d
                      - address: 127.0.0.1:%d
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: tier
                """.formatted(hashKeys, origins[0].port(), origins[1].port(), origins[2].port()));
    }

    /** Which node answered each URL, on one client connection. */
    private static Map<String, String> placement(int port, int count) throws IOException {
        Map<String, String> where = new HashMap<>();
        try (RawHttp raw = new RawHttp(port)) {
            for (int i = 0; i < count; i++) {
                String url = "/obj/" + i + ".jpg";
                RawHttp.Response r = raw.send("GET " + url + " HTTP/1.1\r\nHost: cdn.test\r\n\r\n").read();
                assertThat(r.status()).as(url).isEqualTo(200);
                where.put(url, r.header("x-origin"));
            }
        }
        return where;
    }

    private static Map<String, Integer> counts(Map<String, String> placement) {
        Map<String, Integer> counts = new HashMap<>();
        placement.values().forEach(n -> counts.merge(n, 1, Integer::sum));
        return counts;
    }

    @ParameterizedTest
    @ValueSource(strings = {"ketama", "maglev"})
    void eachUrlStaysOnOneNodeAndAStoppedNodeMovesOnlyItsOwnUrls(String algorithm) throws Exception {
        try (PorticoHarness p = edge("      algorithm: " + algorithm)) {
            Map<String, String> first = placement(p.port(), URLS);
            // Loops differ: a second connection may be on the other event loop and must agree.
            assertThat(placement(p.port(), URLS)).isEqualTo(first);
            assertThat(counts(first)).hasSize(3)
                    .allSatisfy((node, n) -> assertThat(n).as(node).isBetween(URLS / 3 - 40, URLS / 3 + 40));

            int port = origins[1].port();
            origins[1].close();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> p.server().upstream("tier").status().members().get(1).state() == HealthState.DOWN);
            // Every loop has the news once a batch of requests goes through without node1.
            // A batch takes a while on a busy machine: the bound is generous, the condition exact.
            await().atMost(Duration.ofSeconds(30)).until(() -> !placement(p.port(), URLS).containsValue("node1"));

            Map<String, String> without = placement(p.port(), URLS);
            Set<String> takers = new HashSet<>();
            for (Map.Entry<String, String> e : first.entrySet()) {
                if (e.getValue().equals("node1")) {
                    takers.add(without.get(e.getKey()));
                } else {
                    assertThat(without.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
                }
            }
            assertThat(takers).isSubsetOf("node0", "node2").isNotEmpty();

            // The node comes back on the same port: its health check passes and it gets its URLs back.
            origins[1] = new TestOrigin("node1", "127.0.0.1", port);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> p.server().upstream("tier").status().members().get(1).state() == HealthState.UP);
            await().atMost(Duration.ofSeconds(30)).until(() -> placement(p.port(), URLS).equals(first));
        }
    }

    @Test
    void aHotUrlIsServedByItsNodeAndTheNextOne() throws Exception {
        // 20 a second for the process, over 2 event loops: 10 a second on the loop serving the client.
        try (PorticoHarness p = edge("      hot_key_threshold: 20")) {
            String home = placement(p.port(), 1).get("/obj/0.jpg");

            Map<String, Integer> hot = new HashMap<>();
            try (RawHttp raw = new RawHttp(p.port())) {
                for (int i = 0; i < 200; i++) {
                    RawHttp.Response r = raw.send("GET /obj/0.jpg HTTP/1.1\r\nHost: cdn.test\r\n\r\n").read();
                    hot.merge(r.header("x-origin"), 1, Integer::sum);
                }
            }
            Map<String, String> cold = placement(p.port(), 50);
            cold.remove("/obj/0.jpg");

            assertThat(hot).hasSize(2).containsKey(home);
            assertThat(hot.values()).allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(80));
            // The other URLs, each asked once, stay where they were.
            Map<String, String> again = placement(p.port(), 50);
            again.remove("/obj/0.jpg");
            assertThat(again).isEqualTo(cold);
        }
    }
}
