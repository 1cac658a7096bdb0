package io.portico.server.it;

import io.portico.server.upstream.health.HealthState;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A hash tier whose members come from one DNS name ({@code resolve: true}): every address is a
 * member, and the set follows DNS once the TTL runs out, moving only the keys it has to.
 */
class DnsMembersTest {

    private static final String NAME = "tier.portico.test";
    private static final int URLS = 300;

    private static Map<String, String> placement(int port) throws IOException {
        Map<String, String> where = new HashMap<>();
        try (RawHttp raw = new RawHttp(port)) {
            for (int i = 0; i < URLS; i++) {
                String url = "/obj/" + i;
                RawHttp.Response r = raw.send("GET " + url + " HTTP/1.1\r\nHost: cdn.test\r\n\r\n").read();
                assertThat(r.status()).as(url).isEqualTo(200);
                where.put(url, r.header("x-origin"));
            }
        }
        return where;
    }

    @Test
    void membersFollowTheNamesAddressesAndOnlyTheirOwnKeysMove() throws Exception {
        try (TestDnsServer dns = new TestDnsServer(1);
             TestOrigin a = new TestOrigin("a", "127.0.0.1", 0);
             TestOrigin b = new TestOrigin("b", "127.0.0.2", a.port());
             TestOrigin c = new TestOrigin("c", "127.0.0.3", a.port())) {
            dns.answer(NAME, "127.0.0.1", "127.0.0.2");
            try (PorticoHarness p = PorticoHarness.start("""
                    resolver:
                      nameservers: ["%s"]
                    upstreams:
                      tier:
                        balance: consistent_hash
                        backends:
                          - address: %s:%d
                            resolve: true
                    servers:
                      - routes:
                          - match: { prefix: / }
                            upstream: tier
                    """.formatted(dns.hostPort(), NAME, a.port()))) {
                assertThat(p.server().upstream("tier").status().members())
                        .extracting(m -> m.address())
                        .containsExactly("127.0.0.1:" + a.port(), "127.0.0.2:" + a.port());
                Map<String, String> two = placement(p.port());
                assertThat(two.values()).containsOnly("a", "b");

                // A third address: the new member takes about a third, from both, and nothing else moves.
                dns.answer(NAME, "127.0.0.1", "127.0.0.2", "127.0.0.3");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> p.server().upstream("tier").status().members().size() == 3);
                Map<String, String> three = placement(p.port());
                int moved = 0;
                for (Map.Entry<String, String> e : three.entrySet()) {
                    if (!e.getValue().equals(two.get(e.getKey()))) {
                        assertThat(e.getValue()).as(e.getKey()).isEqualTo("c");
                        moved++;
                    }
                }
                assertThat(moved).isBetween(URLS / 3 - 40, URLS / 3 + 40);

                // An address leaves: only its keys move.
                dns.answer(NAME, "127.0.0.1", "127.0.0.3");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> p.server().upstream("tier").status().members().size() == 2);
                Map<String, String> withoutB = placement(p.port());
                for (Map.Entry<String, String> e : three.entrySet()) {
                    if (!e.getValue().equals("b")) {
                        assertThat(withoutB.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
                    } else {
                        assertThat(withoutB.get(e.getKey())).as(e.getKey()).isIn("a", "c");
                    }
                }
            }
        }
    }

    @Test
    void aMemberThatStaysKeepsItsHealthWhenAnotherAddressJoins() throws Exception {
        try (TestDnsServer dns = new TestDnsServer(1);
             TestOrigin a = new TestOrigin("a", "127.0.0.1", 0);
             TestOrigin c = new TestOrigin("c", "127.0.0.3", a.port())) {
            // 127.0.0.2 has nothing listening: its checks fail and take it out.
            dns.answer(NAME, "127.0.0.1", "127.0.0.2");
            try (PorticoHarness p = PorticoHarness.start("""
                    resolver:
                      nameservers: ["%s"]
                    upstreams:
                      tier:
                        backends:
                          - address: %s:%d
                            resolve: true
                        health_check:
                          enabled: true
                          type: tcp
                          interval: 2s
                          jitter: 0s
                          timeout: 1s
                          fall: 2
                          rise: 2
                    servers:
                      - routes:
                          - match: { prefix: / }
                            upstream: tier
                    """.formatted(dns.hostPort(), NAME, a.port()))) {
                String down = "127.0.0.2:" + a.port();
                await().atMost(Duration.ofSeconds(10)).until(() -> state(p, down) == HealthState.DOWN);

                // A third address joins: the member set is rebuilt, but 127.0.0.2 is still the same
                // dead member and must not come back into rotation without passing rise checks (nor
                // stay in until fall more checks fail: two seconds here).
                dns.answer(NAME, "127.0.0.1", "127.0.0.2", "127.0.0.3");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> p.server().upstream("tier").status().members().size() == 3);
                assertThat(state(p, down)).isEqualTo(HealthState.DOWN);
                assertThat(state(p, "127.0.0.1:" + a.port())).isEqualTo(HealthState.UP);
            }
        }
    }

    @Test
    void anHttp2MemberSetThatIsReplacedClosesItsIdleConnections() throws Exception {
        try (TestDnsServer dns = new TestDnsServer(1);
             H2TestOrigin a = H2TestOrigin.cleartext("a", 100)) {
            dns.answer(NAME, "127.0.0.1");
            // epoll, as in Http2UpstreamTest: Netty's io_uring loop sometimes never finishes shutting down.
            try (PorticoHarness p = PorticoHarness.start("""
                    transport: epoll
                    resolver:
                      nameservers: ["%s"]
                    upstreams:
                      tier:
                        protocol: h2c
                        backends:
                          - address: %s:%d
                            resolve: true
                    servers:
                      - routes:
                          - match: { prefix: / }
                            upstream: tier
                    """.formatted(dns.hostPort(), NAME, a.port()))) {
                try (RawHttp raw = new RawHttp(p.port())) {
                    assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: h2.test\r\n\r\n").read().status()).isEqualTo(200);
                }
                assertThat(a.openConnections.get()).isEqualTo(1);

                // The name gains an address: a new member set takes over, and the old set's idle
                // HTTP/2 connection (its pool no longer swept for idleness) must not stay open.
                dns.answer(NAME, "127.0.0.1", "127.0.0.2");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> p.server().upstream("tier").status().members().size() == 2);
                await().atMost(Duration.ofSeconds(10)).until(() -> a.openConnections.get() == 0);
            }
        }
    }

    private static HealthState state(PorticoHarness p, String address) {
        return p.server().upstream("tier").status().members().stream()
                .filter(m -> m.address().equals(address)).findFirst().orElseThrow().state();
    }
}
