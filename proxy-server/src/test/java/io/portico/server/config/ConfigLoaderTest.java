package io.portico.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    /** A listener alone, for tests that write their own servers. */
    private static final String LISTENER_ONLY = """
            listeners:
              - address: 127.0.0.1:8080
            """;

    /** The smallest valid file: a listener and a server that answers on it. */
    private static final String LISTENER = """
            servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
            listeners: [{address: 127.0.0.1:8080}]
            """;

    private static ConfigException failure(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("portico.yaml", yaml));
        assertThat(e).as("a ConfigException for:%n%s", yaml).isNotNull();
        return e;
    }

    @Test
    void buildsAConfigFromTheSmallestFileWithDefaultsEverywhereElse() throws ConfigException {
        PorticoConfig config = ConfigLoader.parse("portico.yaml", LISTENER);

        assertThat(config.transport()).isEqualTo(TransportKind.AUTO);
        assertThat(config.listeners()).hasSize(1);
        ListenerConfig listener = config.listeners().get(0);
        assertThat(listener.name()).isEqualTo("127.0.0.1:8080");
        assertThat(listener.backlog()).isEqualTo(4096);
        assertThat(listener.http().keepaliveTimeout()).isEqualTo(Duration.ofSeconds(75));
        assertThat(listener.http().maxHeaderSize().bytes()).isEqualTo(32 * 1024);
        assertThat(config.upstreams()).isEmpty();
        assertThat(config.servers()).hasSize(1);
        assertThat(config.forwarding().requestIdHeader()).isEqualTo("X-Request-Id");
        assertThat(config.accessLog().buffer()).isEqualTo(65536);
        assertThat(config.demoOrigin().enabled()).isFalse();
        assertThat(config.shutdownTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.limits().connectionBuffer().bytes()).isEqualTo(64 * 1024);
        assertThat(config.limits().http2ConnectionBuffer().bytes()).isEqualTo(1024 * 1024);
    }

    @Test
    void reportsAnEmptyFileAsHavingNoListener() {
        assertThat(failure("")).hasMessage("portico.yaml:1: listeners: at least one listener is needed");
        assertThat(failure("# nothing yet\n")).hasMessage("portico.yaml:1: listeners: at least one listener is needed");
    }

    @Test
    void rejectsAFileThatIsNotAMapping() {
        ConfigException e = failure("- listeners\n");

        assertThat(e.line()).isEqualTo(1);
        assertThat(e.reason()).contains("must be a mapping of keys").endsWith("got a list");
    }

    @Test
    void reportsAYamlSyntaxErrorWithItsLine() {
        ConfigException e = failure(LISTENER + "workers: 2\n  backlog: 3\n");

        assertThat(e.line()).isEqualTo(4);
        assertThat(e.key()).isEmpty();
        assertThat(e.reason()).isEqualTo("mapping values are not allowed here");
    }

    @Test
    void reportsAnUnclosedQuoteWithTheLineWhereItStarted() {
        ConfigException e = failure(LISTENER + "transport: \"epoll\n");

        assertThat(e.reason()).contains("while scanning a quoted scalar (line 3)");
    }

    @Test
    void rejectsASecondDocumentInTheFile() {
        ConfigException e = failure(LISTENER + "---\nworkers: 2\n");

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.reason()).contains("expected a single document");
    }

    @Test
    void rejectsADuplicateKeyWithItsFullPathAndLine() {
        ConfigException e = failure("""
                listeners:
                  - address: 127.0.0.1:8080
                    backlog: 100
                    backlog: 200
                """);

        assertThat(e).hasMessage("portico.yaml:4: listeners[0].backlog: duplicate key 'backlog' (first at line 3)");
    }

    @Test
    void rejectsADuplicateTopLevelKey() {
        ConfigException e = failure(LISTENER + "workers: 1\nworkers: 2\n");

        assertThat(e.line()).isEqualTo(4);
        assertThat(e.key()).isEqualTo("workers");
    }

    @Test
    void suggestsTheIntendedKeyForATypo() {
        ConfigException e = failure("""
                listeners:
                  - address: 127.0.0.1:8080
                    backlgo: 100
                """);

        assertThat(e).hasMessage("portico.yaml:3: listeners[0].backlgo: unknown key 'backlgo' (did you mean 'backlog'?)");
    }

    @Test
    void reportsAWrongTypeWithTheFullKey() {
        ConfigException e = failure("""
                listeners:
                  - address: 127.0.0.1:8080
                    http:
                      keepalive_requests: lots
                """);

        assertThat(e).hasMessage("portico.yaml:4: listeners[0].http.keepalive_requests: expected an integer, got 'lots'");
    }

    @Test
    void reportsAMissingRequiredKeyAtItsMapping() {
        ConfigException e = failure("""
                listeners:
                  - name: http
                    backlog: 10
                """);

        assertThat(e).hasMessage("portico.yaml:2: listeners[0].address: missing required key 'address'");
    }

    @Test
    void reportsABadAddressWithTheParsersReason() {
        ConfigException e = failure("listeners:\n  - address: localhost\n");

        assertThat(e).hasMessage("portico.yaml:2: listeners[0].address: expected host:port, got 'localhost'");
    }

    @Test
    void placesAnInvalidBackendWeightAtItsLine() {
        ConfigException e = failure(LISTENER + """
                upstreams:
                  api:
                    balance: p2c
                    backends:
                      - address: 10.0.0.1:80
                        weight: 0
                """);

        assertThat(e).hasMessage("portico.yaml:8: upstreams.api.backends[0].weight: must be 1..1000, got 0");
    }

    @Test
    void refusesH2WithoutTlsAndH2cWithTlsAtTheProtocolKey() {
        ConfigException h2 = failure(LISTENER + """
                upstreams:
                  api:
                    backends: [{address: 10.0.0.1:443}]
                    protocol: h2
                """);
        assertThat(h2).hasMessage("portico.yaml:6: upstreams.api.protocol: h2 is HTTP/2 over TLS: "
                + "set tls.enabled: true, or use h2c");
        ConfigException h2c = failure(LISTENER + """
                upstreams:
                  api:
                    backends: [{address: 10.0.0.1:80}]
                    protocol: h2c
                    tls: {enabled: true}
                """);
        assertThat(h2c).hasMessageContaining("upstreams.api.protocol: h2c is cleartext HTTP/2");
    }

    @Test
    void readsTheHttp2UpstreamSettingsWithTheirDefaults() throws ConfigException {
        PorticoConfig config = ConfigLoader.parse("portico.yaml", LISTENER + """
                upstreams:
                  api:
                    backends: [{address: 10.0.0.1:80}]
                    protocol: h2c
                    http2: {max_connections: 2, initial_window_size: 256k}
                """);
        UpstreamConfig api = config.upstreams().get("api");
        assertThat(api.protocol()).isEqualTo(UpstreamProtocol.H2C);
        assertThat(api.http2()).isEqualTo(new Http2UpstreamConfig(2, 100, ByteSize.parse("256k"), 256,
                java.time.Duration.ZERO, java.time.Duration.ofSeconds(10)));
        ConfigException small = failure(LISTENER + """
                upstreams:
                  api:
                    backends: [{address: 10.0.0.1:80}]
                    http2: {initial_window_size: 1k}
                """);
        assertThat(small).hasMessageContaining("upstreams.api.http2.initial_window_size: must be between 65535");
    }

    @Test
    void placesARouteToAnUnknownUpstreamAtTheUpstreamKey() {
        ConfigException e = failure(LISTENER_ONLY + """
                upstreams:
                  api:
                    backends: [{address: 10.0.0.1:80}]
                servers:
                  - routes:
                      - match: {prefix: /}
                        upstream: apj
                """);

        assertThat(e.line()).isEqualTo(9);
        assertThat(e.key()).isEqualTo("servers[0].routes[0].upstream");
        assertThat(e.reason()).isEqualTo("no upstream group is called 'apj'; groups are [api]");
    }

    @Test
    void placesAnUnknownListenerNameAtItsListItem() {
        ConfigException e = failure(LISTENER_ONLY + """
                servers:
                  - listeners:
                      - 127.0.0.1:8080
                      - https
                    routes:
                      - match: {prefix: /}
                        respond: {status: 204}
                """);

        assertThat(e.line()).isEqualTo(6);
        assertThat(e.key()).isEqualTo("servers[0].listeners[1]");
        assertThat(e.reason()).startsWith("no listener is called 'https'");
    }

    @Test
    void placesAnInvalidRegexInASecondServer() {
        ConfigException e = failure(LISTENER_ONLY + """
                servers:
                  - routes:
                      - match: {prefix: /}
                        respond: {}
                  - names: [b.example]
                    routes:
                      - match:
                          regex: "(unclosed"
                        respond: {}
                """);

        assertThat(e.line()).isEqualTo(10);
        assertThat(e.key()).isEqualTo("servers[1].routes[0].match.regex");
        assertThat(e.reason()).startsWith("not a valid regular expression");
    }

    @Test
    void placesARouteWithoutAnActionAtTheRoute() {
        ConfigException e = failure(LISTENER_ONLY + """
                servers:
                  - routes:
                      - name: nothing
                        match: {path: /x}
                """);

        assertThat(e.line()).isEqualTo(5);
        assertThat(e.key()).isEqualTo("servers[0].routes[0].upstream");
        assertThat(e.reason()).isEqualTo("a route needs exactly one of upstream, redirect or respond");
    }

    @Test
    void placesARouteWithTwoActionsAtTheSecond() {
        ConfigException both = failure(LISTENER_ONLY + """
                upstreams:
                  o: {backends: [{address: "127.0.0.1:1"}]}
                servers:
                  - routes:
                      - match: {path: /x}
                        upstream: o
                        respond: {status: 204}
                """);
        // It named redirect, which the route does not have.
        assertThat(both.key()).isEqualTo("servers[0].routes[0].respond");
        assertThat(both.line()).isEqualTo(9);
    }

    @Test
    void warnsOfANameTwoServersOnOneListenerClaimAndOfConnectInARoutesMethods() throws Exception {
        PorticoConfig c = ConfigLoader.parse("portico.yaml", """
                listeners:
                  - name: a
                    address: 127.0.0.1:0
                  - name: b
                    address: 127.0.0.1:0
                servers:
                  - names: [a.test, a.test]
                    listeners: [a]
                    routes: [{match: {prefix: /}, respond: {}, methods: [GET, CONNECT]}]
                  - names: [b.test, A.test.]
                    listeners: [a]
                    routes: [{match: {prefix: /}, respond: {}}]
                  - names: [a.test]
                    listeners: [b]
                    routes: [{match: {prefix: /}, respond: {}}]
                """);
        // As nginx warns "conflicting server name": allowed, but one of the two gets the requests.
        // The same name twice on one server, or on servers on different listeners, is fine.
        assertThat(c.lint()).containsExactly(
                "servers[0].routes[0].methods[1]: CONNECT is never proxied (Portico answers it 501)",
                "servers[1].names[1]: 'A.test.' is also a name of servers[0] on the same listener; requests for it go"
                        + " to one of them");
    }

    @Test
    void placesASecondDefaultServerAtItsDefaultKey() {
        ConfigException e = failure(LISTENER_ONLY + """
                servers:
                  - default: true
                    routes: [{match: {prefix: /}, respond: {}}]
                  - default: true
                    routes: [{match: {prefix: /}, respond: {}}]
                """);

        assertThat(e).hasMessage("portico.yaml:6: servers[1].default: only one server can be the default");
    }

    @Test
    void rejectsAnAliasBomb() {
        StringBuilder yaml = new StringBuilder(LISTENER).append("a0: &a0 [x, x]\n");
        for (int i = 1; i < 40; i++) {
            yaml.append('a').append(i).append(": &a").append(i).append(" [*a").append(i - 1).append(", *a")
                    .append(i - 1).append("]\n");
        }

        ConfigException e = failure(yaml.toString());

        assertThat(e.reason()).containsIgnoringCase("aliases");
    }

    @Test
    void loadsAFileFromDisk(@TempDir Path dir) throws IOException, ConfigException {
        Path file = dir.resolve("portico.yaml");
        Files.writeString(file, LISTENER + "workers: 3\n");

        assertThat(ConfigLoader.load(file).workers()).isEqualTo(3);
    }

    @Test
    void namesTheFileOnDiskInMessages(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("portico.yaml");
        Files.writeString(file, LISTENER + "workers: -1\n");

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file));

        assertThat(e).hasMessage(file + ":3: workers: must be 0 (one per core) or more, got -1");
    }

    @Test
    void reportsAMissingFileAtLineZero(@TempDir Path dir) {
        Path file = dir.resolve("nope.yaml");

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file));

        assertThat(e).hasMessage(file + ":0: cannot read the file: no such file");
        assertThat(e.line()).isZero();
    }

    @Test
    void reportsADirectoryAsUnreadable(@TempDir Path dir) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(dir));

        assertThat(e.line()).isZero();
        assertThat(e.reason()).startsWith("cannot read the file: ");
    }

    @Test
    void reportsAFileThatIsNotUtf8(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("latin1.yaml");
        Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xE9, '\n'});

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(file));

        assertThat(e).hasMessage(file + ":0: cannot read the file: it is not valid UTF-8");
    }

    @Test
    void rejectsAListenerThatNoServerAnswersOn() {
        ConfigException e = failure("""
                listeners:
                  - {name: public, address: 127.0.0.1:8080}
                  - {name: spare, address: 127.0.0.1:8081}
                servers:
                  - listeners: [public]
                    routes: [{match: {prefix: /}, respond: {status: 204}}]
                """);

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.key()).isEqualTo("listeners[1].name");
        assertThat(e.reason()).contains("no server answers on listener 'spare'");
    }


    @Test
    void http2SettingsOutsideTheirRfcRangeNameTheirKey() {
        ConfigException e = failure("""
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                listeners:
                  - address: 127.0.0.1:8080
                    http2:
                      max_frame_size: 1k
                """);
        assertThat(e.getMessage()).contains("listeners[0].http2.max_frame_size").contains("16k");
    }

    @Test
    void anHttp2ChunkSizeBelowOneKibibyteNamesItsLine() {
        ConfigException e = failure("""
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                listeners:
                  - address: 127.0.0.1:8080
                    http2:
                      chunk_size: 512
                """);
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.key()).isEqualTo("listeners[0].http2.chunk_size");
        assertThat(e.reason()).contains("between 1k and");
    }

    @Test
    void anHttp2ConnectionBufferOutOfRangeNamesItsLine() {
        ConfigException e = failure(LISTENER + """
                limits:
                  http2_connection_buffer: 512
                """);
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.key()).isEqualTo("limits.http2_connection_buffer");
        assertThat(e.reason()).contains("1k to 1g");
    }

    @Test
    void aHeaderNamePorticoWritesMustBeAToken() {
        // Portico writes these names into requests as they are: a space or colon would break the request.
        ConfigException e = failure("""
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                listeners:
                  - address: 127.0.0.1:8080
                forwarding:
                  request_id_header: "X-Request Id"
                """);
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.key()).isEqualTo("forwarding.request_id_header");
        assertThat(e.reason()).contains("'X-Request Id' is not a valid header name");

        e = failure("""
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                listeners:
                  - address: 127.0.0.1:8443
                    tls:
                      client_fingerprint_header: "X-Fingerprint:"
                """);
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.key()).isEqualTo("listeners[0].tls.client_fingerprint_header");
    }

    @Test
    void headerRulesCannotTouchTheFramingFields() {
        // Removed from a request with a body, Content-Length would send the body upstream unframed.
        ConfigException e = failure("""
                servers:
                  - routes:
                      - match: {prefix: /}
                        upstream: app
                        request_headers:
                          remove: [Content-Length]
                upstreams:
                  app: {backends: [{address: "127.0.0.1:9000"}]}
                """);
        assertThat(e.line()).isEqualTo(6);
        assertThat(e.key()).isEqualTo("servers[0].routes[0].request_headers.remove");
        assertThat(e.reason()).contains("'Content-Length' frames the message's body");

        e = failure("""
                servers:
                  - response_headers:
                      set: {transfer-encoding: chunked}
                    routes: [{match: {prefix: /}, respond: {status: 204}}]
                """);
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.key()).isEqualTo("servers[0].response_headers.set");
    }

    @Test
    void h2InAlpnWithHttp2DisabledIsAnError() {
        ConfigException e = failure("""
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                listeners:
                  - address: 127.0.0.1:8443
                    http2: {enabled: false}
                    tls: {alpn: [h2, http/1.1]}
                """);
        assertThat(e.getMessage()).contains("listeners[0].tls").contains("http2.enabled");
    }

    @Test
    void aTlsListenerOffersH2AndHttp11ByDefaultAndOnlyHttp11WithHttp2Off() throws ConfigException {
        String servers = "servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]\n";
        PorticoConfig on = ConfigLoader.parse("portico.yaml", servers + "listeners: [{address: 127.0.0.1:8443, tls: {}}]\n");
        assertThat(on.listeners().get(0).tls().alpn()).containsExactly("h2", "http/1.1");
        PorticoConfig off = ConfigLoader.parse("portico.yaml", servers
                + "listeners: [{address: 127.0.0.1:8443, tls: {}, http2: {enabled: false}}]\n");
        assertThat(off.listeners().get(0).tls().alpn()).containsExactly("http/1.1");
    }

    @Test
    void aTrustedProxyThatIsNotACidrNamesItsLineAndKey() {
        ConfigException e = failure(LISTENER + """
                forwarding:
                  trusted_proxies:
                    - 10.0.0.0/8
                    - 10.0.0.0/99
                """);
        assertThat(e).hasMessage("portico.yaml:6: forwarding.trusted_proxies[1]: invalid CIDR '10.0.0.0/99':"
                + " prefix length must be 0..32");
    }
}
