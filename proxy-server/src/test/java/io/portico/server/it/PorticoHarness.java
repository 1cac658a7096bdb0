package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.PorticoConfig;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;

/**
 * A Portico started in this JVM on port 0 from YAML, as a user would write it. The text given is
 * appended to a base with one listener called {@code http} on 127.0.0.1:0, two event loops, the
 * admin listener on 127.0.0.1:0, the access log off, and no demo origin.
 */
public final class PorticoHarness implements AutoCloseable {

    private final PorticoServer server;

    private PorticoHarness(PorticoServer server) {
        this.server = server;
    }

    public static PorticoHarness start(String yaml) throws Exception {
        return start(yaml, "");
    }

    /** @param listenerExtra YAML lines (indented by 4) added to the listener, e.g. http limits */
    public static PorticoHarness start(String yaml, String listenerExtra) throws Exception {
        String text = """
                workers: 2
                admin:
                  address: 127.0.0.1:0
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                """ + listenerExtra + """
                access_log:
                  enabled: false
                """ + yaml;
        PorticoConfig config = ConfigLoader.parse("test.yaml", text);
        return new PorticoHarness(PorticoServer.start(config));
    }

    /** A single-upstream setup: every request goes to {@code origin}; {@code upstreamExtra} adds group keys. */
    public static PorticoHarness proxyTo(TestOrigin origin, String upstreamExtra) throws Exception {
        return proxyTo(origin.port(), upstreamExtra);
    }

    /** A single-upstream setup sending every request to 127.0.0.1:{@code port}. */
    public static PorticoHarness proxyTo(int port, String upstreamExtra) throws Exception {
        return proxyTo(port, upstreamExtra, "");
    }

    /** As {@link #proxyTo(int, String)}, with top-level keys such as {@code transport: epoll}. */
    public static PorticoHarness proxyTo(int port, String upstreamExtra, String topLevel) throws Exception {
        return proxyTo(port, upstreamExtra, topLevel, "");
    }

    /** As {@link #proxyTo(int, String, String)}, with {@code listenerExtra} as in {@link #start(String, String)}. */
    public static PorticoHarness proxyTo(int port, String upstreamExtra, String topLevel, String listenerExtra)
            throws Exception {
        return start(topLevel + """
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                %s
                servers:
                  - default: true
                    max_body_size: 0
                    routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(port, upstreamExtra), listenerExtra);
    }

    /** Wraps a server started from a hand-written config. */
    public static PorticoHarness wrap(PorticoServer server) {
        return new PorticoHarness(server);
    }

    public PorticoServer server() {
        return server;
    }

    public int port() {
        return server.address("http").getPort();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port() + path);
    }

    public static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Override
    public void close() {
        server.close();
    }
}
