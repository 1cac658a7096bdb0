package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** CIDR rules (403), token-bucket rate limits (429 + Retry-After) and method rules (405/501), per listener and route. */
class AccessAndRateLimitsTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("policy");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: /admin }
                        upstream: origin
                        access: { allow: [10.0.0.0/8] }
                      - match: { prefix: /internal }
                        upstream: origin
                        access: { allow: [127.0.0.0/8], deny: [127.0.0.1] }
                      - match: { prefix: /local }
                        upstream: origin
                        access: { allow: ["::1", 127.0.0.0/8] }
                      - match: { prefix: /per-key }
                        upstream: origin
                        rate_limit: { key: "header:X-Api-Key", rate: 0.1, burst: 2 }
                      - match: { prefix: /per-route }
                        upstream: origin
                        rate_limit: { key: route, rate: 0.1, burst: 3 }
                      - match: { prefix: /readonly }
                        upstream: origin
                        methods: [GET, HEAD]
                      - match: { prefix: /dav }
                        upstream: origin
                        allow_unknown_methods: true
                      - match: { prefix: /purge }
                        upstream: origin
                        methods: [GET, PURGE]
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()));
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    private static RawHttp.Response send(String request) throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            return raw.send(request).read();
        }
    }

    @Test
    void aClientOutsideTheRoutesAllowListGets403AndTheOriginSeesNothing() throws Exception {
        int before = origin.requests.get();
        RawHttp.Response r = send("GET /admin HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.text()).contains("request_id: " + r.header("x-request-id"));
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"/%61dmin", "//admin", "/x/../admin", "/./admin/", "/ADMIN/../admin"})
    void theAccessRuleSeesThePathAfterNormalisationHoweverItIsSpelt(String path) throws Exception {
        int before = origin.requests.get();
        assertThat(send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n").status()).as(path).isEqualTo(403);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void aDotSegmentWithParametersIsRefusedRatherThanRoutedPastTheRule() throws Exception {
        int before = origin.requests.get();
        assertThat(send("GET /public/..;/admin HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(400);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void denyWinsOverAllow() throws Exception {
        assertThat(send("GET /internal HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(403);
    }

    @Test
    void aClientInsideTheAllowListIsProxied() throws Exception {
        assertThat(send("GET /local HTTP/1.1\r\nHost: a\r\n\r\n").header("x-origin")).isEqualTo("policy");
    }

    @Test
    void aDeniedRequestKeepsTheConnection() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            assertThat(raw.send("GET /admin HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
        }
    }

    @Test
    void aKeyOverItsBurstGets429WithRetryAfterWhileOtherKeysAreServed() throws Exception {
        int before = origin.requests.get();
        for (int i = 0; i < 2; i++) {
            assertThat(send("GET /per-key HTTP/1.1\r\nHost: a\r\nX-Api-Key: alice\r\n\r\n").status()).isEqualTo(404);
        }
        RawHttp.Response limited = send("GET /per-key HTTP/1.1\r\nHost: a\r\nX-Api-Key: alice\r\n\r\n");
        assertThat(limited.status()).isEqualTo(429);
        // One token every 10 s.
        assertThat(Integer.parseInt(limited.header("retry-after"))).isBetween(1, 10);
        assertThat(send("GET /per-key HTTP/1.1\r\nHost: a\r\nX-Api-Key: bob\r\n\r\n").status()).isEqualTo(404);
        assertThat(origin.requests.get()).isEqualTo(before + 3);
    }

    @Test
    void aRouteKeyedLimitIsSharedByEveryoneOnAnyConnection() throws Exception {
        int served = 0;
        int limited = 0;
        for (int i = 0; i < 6; i++) {
            int status = send("GET /per-route/" + i + " HTTP/1.1\r\nHost: a\r\nX-Api-Key: k" + i + "\r\n\r\n").status();
            served += status == 404 ? 1 : 0;
            limited += status == 429 ? 1 : 0;
        }
        assertThat(served).isEqualTo(3);
        assertThat(limited).isEqualTo(3);
    }

    @Test
    void aMethodTheRouteDoesNotListGets405NamingTheAllowedOnes() throws Exception {
        RawHttp.Response r = send("DELETE /readonly HTTP/1.1\r\nHost: a\r\n\r\n");
        assertThat(r.status()).isEqualTo(405);
        assertThat(r.header("allow")).isEqualTo("GET, HEAD");
    }

    @Test
    void anUnknownMethodGets501UnlessTheRouteAllowsOrListsIt() throws Exception {
        int before = origin.requests.get();
        assertThat(send("PROPFIND /hello HTTP/1.1\r\nHost: a\r\n\r\n").status()).isEqualTo(501);
        assertThat(origin.requests.get()).isEqualTo(before);
        assertThat(send("PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n").header("x-origin")).isEqualTo("policy");
        assertThat(send("PURGE /purge HTTP/1.1\r\nHost: a\r\n\r\n").header("x-origin")).isEqualTo("policy");
        assertThat(origin.lastHead().method().name()).isEqualTo("PURGE");
    }

    @Test
    void aListenerDenyListRefusesEveryRoute() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()), """
                    limits:
                      access: { deny: [127.0.0.0/8, "::1"] }
                """); RawHttp raw = new RawHttp(p.port())) {
            int before = origin.requests.get();
            assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(403);
            assertThat(origin.requests.get()).isEqualTo(before);
        }
    }

    @Test
    void aListenerRateLimitPerClientAddressAppliesBeforeRouting() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()), """
                    limits:
                      rate_limit: { rate: 0.5, burst: 2 }
                """); RawHttp raw = new RawHttp(p.port())) {
            assertThat(raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            assertThat(raw.send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(404);
            RawHttp.Response r = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(429);
            assertThat(r.header("retry-after")).isIn("1", "2");
        }
    }
}
