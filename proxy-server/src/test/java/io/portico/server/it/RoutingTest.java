package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Virtual servers by Host, routes by path, and what each route action does, as a client sees them. */
class RoutingTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("routed");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - names: [first.test]
                    routes:
                      - match: { prefix: / }
                        respond: { body: first }
                  - names: [api.example.com]
                    routes:
                      - match: { prefix: / }
                        respond: { body: exact }
                  - names: ["*.example.com"]
                    routes:
                      - match: { prefix: / }
                        respond: { body: wildcard }
                  - names: ["*.b.example.com"]
                    routes:
                      - match: { prefix: / }
                        respond: { body: longer-wildcard }
                  - names: [proxied.test]
                    routes:
                      - match: { prefix: /admin }
                        respond: { status: 403, body: forbidden }
                      - match: { prefix: / }
                        upstream: origin
                  - names: [other.test]
                    default: true
                    routes:
                      - match: { prefix: / }
                        respond: { body: default }
                  - names: [app.test]
                    request_headers:
                      remove: [X-Drop]
                      set: { X-Server: s, X-Level: server }
                      add: { X-Tag: server }
                    response_headers:
                      set: { X-Resp-Server: "yes" }
                    routes:
                      - match: { path: /exact }
                        respond: { body: path }
                      - match: { prefix: /exact }
                        respond: { body: prefix }
                      - match: { regex: "^/items/[0-9]+$" }
                        respond: { body: regex }
                      - match: { prefix: /items/ }
                        respond: { body: items-prefix }
                      - match: { regex: "^/old/(.*)$" }
                        redirect: { status: 301, location: "$scheme://$host/new/$1" }
                      - match: { prefix: /r301 }
                        redirect: { status: 301, location: "$scheme://$host$request_uri" }
                      - match: { prefix: /r302 }
                        redirect: { location: "$scheme://$host$request_uri" }
                      - match: { prefix: /r307 }
                        redirect: { status: 307, location: "$scheme://$host$request_uri" }
                      - match: { prefix: /r308 }
                        redirect: { status: 308, location: "$scheme://$host$request_uri" }
                      - match: { prefix: /rhttphost }
                        redirect: { location: "$scheme://$http_host$request_uri" }
                      - match: { prefix: /rhostname }
                        redirect: { location: "$scheme://$hostname/$host" }
                      - match: { path: /health }
                        respond: { status: 203, body: "ok\\n", content_type: application/x-health }
                      - match: { path: /empty }
                        respond: { status: 204 }
                      - match: { regex: "^/(headers|hello)$" }
                        upstream: origin
                        request_headers:
                          set: { X-Route: r, X-Level: route }
                          add: { X-Tag: route }
                        response_headers:
                          remove: [X-Origin]
                          add: { X-Resp-Route: r }
                      - match: { prefix: /fixed-with-headers }
                        respond: { body: fixed }
                        response_headers:
                          set: { Cache-Control: no-store }
                """.formatted(origin.port()));
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    private static RawHttp.Response get(String host, String target) throws IOException {
        return get(portico.port(), host, target);
    }

    private static RawHttp.Response get(int port, String host, String target) throws IOException {
        try (RawHttp raw = new RawHttp(port)) {
            return raw.send("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").read();
        }
    }

    // ---- virtual servers -----------------------------------------------------------------------

    @Test
    void anExactNameWinsOverAWildcardThatAlsoMatches() throws Exception {
        assertThat(get("api.example.com", "/").text()).isEqualTo("exact");
    }

    @Test
    void aWildcardMatchesOneOrMoreLabelsButNotTheBareDomain() throws Exception {
        assertThat(get("a.example.com", "/").text()).isEqualTo("wildcard");
        assertThat(get("a.c.example.com", "/").text()).isEqualTo("wildcard");
        assertThat(get("example.com", "/").text()).isEqualTo("default");
    }

    @Test
    void theLongestMatchingWildcardWins() throws Exception {
        assertThat(get("x.b.example.com", "/").text()).isEqualTo("longer-wildcard");
        assertThat(get("a.b.example.com", "/").text()).isEqualTo("longer-wildcard");
    }

    @Test
    void anUnknownHostGoesToTheServerMarkedDefaultEvenWhenItIsNotFirst() throws Exception {
        assertThat(get("nobody.test", "/").text()).isEqualTo("default");
    }

    @Test
    void withoutAMarkedDefaultAnUnknownHostGoesToTheFirstServer() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                servers:
                  - names: [one.test]
                    routes:
                      - match: { prefix: / }
                        respond: { body: one }
                  - names: [two.test]
                    routes:
                      - match: { prefix: / }
                        respond: { body: two }
                """)) {
            assertThat(get(p.port(), "nobody.test", "/").text()).isEqualTo("one");
            assertThat(get(p.port(), "two.test", "/").text()).isEqualTo("two");
        }
    }

    @Test
    void hostIsMatchedWithoutItsPortAndRegardlessOfCase() throws Exception {
        assertThat(get("API.Example.COM:8080", "/").text()).isEqualTo("exact");
        assertThat(get("A.EXAMPLE.com:1", "/").text()).isEqualTo("wildcard");
    }

    @Test
    void anAbsoluteFormTargetRoutesByItsAuthorityAndIsSentUpstreamInOriginForm() throws Exception {
        assertThat(get("first.test", "http://api.example.com/x").text()).isEqualTo("exact");
        RawHttp.Response r = get("first.test", "http://proxied.test:81/headers?q=1");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).startsWith("GET /headers?q=1 HTTP/1.1\n").contains("host: proxied.test:81\n");
    }

    // ---- routes --------------------------------------------------------------------------------

    @Test
    void routesAreTriedInOrderAndTheFirstMatchWins() throws Exception {
        assertThat(get("app.test", "/exact").text()).isEqualTo("path");
        assertThat(get("app.test", "/exact?query=ignored").text()).isEqualTo("path");
        assertThat(get("app.test", "/exactly").text()).isEqualTo("prefix");
        assertThat(get("app.test", "/exact/sub").text()).isEqualTo("prefix");
        assertThat(get("app.test", "/items/42").text()).isEqualTo("regex");
        assertThat(get("app.test", "/items/forty-two").text()).isEqualTo("items-prefix");
    }

    @Test
    void noMatchingRouteGives404NamingTheRequestIdAndKeepsTheConnection() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /nothing-here HTTP/1.1\r\nHost: app.test\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(404);
            String id = r.header("x-request-id");
            assertThat(id).isNotBlank();
            assertThat(r.text()).contains("404 Not Found").contains("request_id: " + id);
            assertThat(raw.send("GET /exact HTTP/1.1\r\nHost: app.test\r\n\r\n").read().text()).isEqualTo("path");
        }
    }

    @Test
    void aRouteAboveTheCatchAllShieldsItsPrefixFromTheOrigin() throws Exception {
        int before = origin.requests.get();
        RawHttp.Response r = get("proxied.test", "/admin/secret");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.text()).isEqualTo("forbidden");
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/x/../admin/secret", "/./admin/secret", "//admin/secret", "/%61dmin/secret"})
    void aPathThatNormalisesIntoAShieldedPrefixIsMatchedByThatRoute(String path) throws Exception {
        int before = origin.requests.get();
        RawHttp.Response r = get("proxied.test", path);
        assertThat(r.status()).isEqualTo(403);
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    // ---- redirects and fixed responses ------------------------------------------------------------

    @ParameterizedTest
    @CsvSource({"/r301, 301", "/r302, 302", "/r307, 307", "/r308, 308"})
    void redirectsWithTheConfiguredStatusAndExpandedLocationWithoutTouchingTheOrigin(String path, int status)
            throws Exception {
        int before = origin.requests.get();
        RawHttp.Response r = get("app.test", path + "/a?b=1");
        assertThat(r.status()).isEqualTo(status);
        assertThat(r.header("location")).isEqualTo("http://app.test" + path + "/a?b=1");
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    /**
     * {@code $host} is nginx's: the host name, lower-cased, without the port, so an
     * {@code https://$host$request_uri} redirect from a listener on another port than 443 does not
     * carry that port into the https URL; {@code $http_host} is the Host as sent.
     */
    @Test
    void hostInARedirectIsTheHostNameWithoutItsPortAndHttpHostIsTheHeaderAsSent() throws Exception {
        RawHttp.Response r = get("App.Test:8080", "/r301/a?b=1");
        assertThat(r.status()).isEqualTo(301);
        assertThat(r.header("location")).isEqualTo("http://app.test/r301/a?b=1");

        RawHttp.Response asSent = get("App.Test:8080", "/rhttphost/a");
        assertThat(asSent.header("location")).isEqualTo("http://App.Test:8080/rhttphost/a");
    }

    /** A variable's name runs to the end of its letters, digits and underscores, as nginx reads it. */
    @Test
    void aLongerNameStartingWithAVariableNameIsNotThatVariable() throws Exception {
        RawHttp.Response r = get("app.test", "/rhostname");
        assertThat(r.header("location")).isEqualTo("http://$hostname/app.test");
    }

    /**
     * An IP-literal Host is checked whole (RFC 9112 section 3.2: an invalid Host is a 400): what
     * follows the ']' is a port or nothing. Otherwise {@code [::1]:@evil.test} passed, chose the
     * default server, and went on as it was into {@code $host} and upstream, where a Location
     * built from it names evil.test (the rest reads as user info).
     */
    @ParameterizedTest
    @ValueSource(strings = {"[::1]:@evil.test", "[::1]@evil.test", "[::1]:80/x", "[evil.test/]", "[::1]:8x"})
    void anIpLiteralHostWithMoreThanAPortAfterItGets400(String host) throws Exception {
        RawHttp.Response r = get(host, "/r301/a");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.header("location")).isNull();
    }

    @Test
    void anIpLiteralHostWithAPortReachesTheDefaultServer() throws Exception {
        RawHttp.Response r = get("[::1]:8080", "/anything");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).isEqualTo("default");
    }

    /**
     * A local answer to a body it will not read (over 64 KiB, or chunked: the connection closes
     * after the answer) must not invite that body with 100 Continue: the client would start
     * sending into a connection about to close, whose unread bytes reset it under the answer.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/r301/a", "/health"})
    void aLocalAnswerThatClosesDoesNotAskForTheBodyWith100Continue(String path) throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("POST " + path + " HTTP/1.1\r\nHost: app.test\r\n"
                    + "Content-Length: 500000\r\nExpect: 100-continue\r\n\r\n").read();
            assertThat(r.status()).isIn(301, 203);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void aLocalAnswerThatReadsASmallBodyStillAsksForItWith100Continue() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            raw.send("POST /health HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(100);
            assertThat(raw.read().status()).isEqualTo(203);
            raw.send("body");
            assertThat(raw.send("GET /health HTTP/1.1\r\nHost: app.test\r\n\r\n").read().status()).isEqualTo(203);
        }
    }

    @Test
    void aRedirectCanUseRegexGroups() throws Exception {
        RawHttp.Response r = get("app.test", "/old/a/b?x=1");
        assertThat(r.status()).isEqualTo(301);
        assertThat(r.header("location")).isEqualTo("http://app.test/new/a/b");
    }

    @Test
    void aFixedResponseHasTheConfiguredStatusBodyAndContentType() throws Exception {
        int before = origin.requests.get();
        RawHttp.Response r = get("app.test", "/health");
        assertThat(r.status()).isEqualTo(203);
        assertThat(r.text()).isEqualTo("ok\n");
        assertThat(r.header("content-type")).isEqualTo("application/x-health");
        assertThat(r.header("x-request-id")).isNotBlank();
        assertThat(origin.requests.get()).isEqualTo(before);
    }

    @Test
    void anEmptyFixedResponseKeepsTheConnection() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /empty HTTP/1.1\r\nHost: app.test\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(204);
            assertThat(r.body()).isEmpty();
            assertThat(r.header("content-length")).isNull();
            assertThat(raw.send("GET /health HTTP/1.1\r\nHost: app.test\r\n\r\n").read().status()).isEqualTo(203);
        }
    }

    // ---- header rules ------------------------------------------------------------------------------

    @Test
    void serverThenRouteRequestHeaderRulesShapeWhatTheOriginReceives() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /headers HTTP/1.1\r\nHost: app.test\r\n"
                    + "X-Drop: secret\r\nX-Server: from-client\r\nX-Tag: client\r\nX-Keep: k\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            List<String> lines = r.text().lines().toList();
            assertThat(lines).noneMatch(l -> l.startsWith("x-drop:"))
                    .contains("x-keep: k", "x-server: s", "x-route: r", "x-level: route")
                    .doesNotContain("x-server: from-client", "x-level: server");
            assertThat(lines.stream().filter(l -> l.startsWith("x-tag:")))
                    .containsExactly("x-tag: client", "x-tag: server", "x-tag: route");
        }
    }

    @Test
    void serverThenRouteResponseHeaderRulesShapeWhatTheClientReceives() throws Exception {
        RawHttp.Response r = get("app.test", "/hello");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("x-resp-server")).isEqualTo("yes");
        assertThat(r.header("x-resp-route")).isEqualTo("r");
        assertThat(r.header("x-origin")).isNull();
        assertThat(r.text()).isEqualTo("hello from routed");
    }

    @Test
    void responseHeaderRulesApplyToFixedResponsesToo() throws Exception {
        RawHttp.Response r = get("app.test", "/fixed-with-headers");
        assertThat(r.text()).isEqualTo("fixed");
        assertThat(r.header("cache-control")).isEqualTo("no-store");
        assertThat(r.header("x-resp-server")).isEqualTo("yes");
    }

    // ---- listeners -----------------------------------------------------------------------------------

    @Test
    void aServerBoundToOneListenerIsNotUsedOnAnother() throws Exception {
        try (PorticoServer server = PorticoServer.start(ConfigLoader.parse("two-listeners.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: public
                    address: 127.0.0.1:0
                  - name: admin
                    address: 127.0.0.1:0
                access_log:
                  enabled: false
                servers:
                  - names: [x.test]
                    listeners: [admin]
                    routes:
                      - match: { prefix: / }
                        respond: { body: admin-only }
                  - default: true
                    routes:
                      - match: { prefix: / }
                        respond: { body: everywhere }
                """))) {
            int publicPort = server.address("public").getPort();
            int adminPort = server.address("admin").getPort();
            assertThat(get(publicPort, "x.test", "/").text()).isEqualTo("everywhere");
            assertThat(get(adminPort, "x.test", "/").text()).isEqualTo("admin-only");
            assertThat(get(adminPort, "y.test", "/").text()).isEqualTo("everywhere");
        }
    }
}
