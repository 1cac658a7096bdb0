package io.portico.bench;

import io.portico.server.config.ConfigLoader;
import io.portico.server.config.PorticoConfig;
import io.portico.server.route.Route;
import io.portico.server.route.Router;
import io.portico.server.route.VirtualServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Route selection as every request does it: the Host header normalised, the virtual server chosen
 * (exact name, wildcard suffix, default), the first matching route of ~50 ({@code routes-50.yaml}:
 * five servers of ten routes each, exact paths, prefixes and regexes). {@code mix} cycles through
 * requests that match early, late, by regex, by wildcard host and by falling to the default server;
 * the other cases isolate one kind. The expected route of each request is checked once at setup,
 * so a config change that breaks the mix fails loudly instead of measuring something else.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RouteBenchmark {

    /** Host header, path, and the name of the route it must land on. */
    private static final String[][] MIX = {
            {"api.example.com", "/v1/users/12345", "r1"},
            {"API.example.com:443", "/v1/products/987", "r3"},
            {"api.example.com", "/v2/orders/6f1c2a9e-9f1b-4c3e-8d2a-1b2c3d4e5f60", "r5"},
            {"api.example.com", "/v1/misc", "r10"},
            {"www.example.com", "/static/app.css", "r12"},
            {"example.com", "/products/blue-widget/reviews", "r15"},
            {"www.example.com", "/about/team", "r20"},
            {"img.cdn.example.com", "/img/640x480/cat.jpg", "r21"},
            {"eu.cdn.example.com", "/live/stream.m3u8", "r24"},
            {"eu.cdn.example.com", "/other/file", "r30"},
            {"ops.admin.example.com", "/audit/2026-11-22", "r37"},
            {"unknown.example.org", "/de-de/start", "r48"},
            {"unknown.example.org", "/index.php", "r45"},
            {"10.0.0.1:8080", "/nothing/else", "r50"},
    };

    @Param({"mix", "prefix-first", "regex-late", "default-server"})
    public String requests;

    private Router router;
    private String[] hosts;
    private String[] paths;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        PorticoConfig config = ConfigLoader.parse("routes-50.yaml", resource("/routes-50.yaml"));
        router = Router.build(config.servers(), "bench", Map.of(), null);
        String[][] chosen = switch (requests) {
            case "mix" -> MIX;
            case "prefix-first" -> new String[][] {MIX[0]};
            case "regex-late" -> new String[][] {MIX[8]};
            case "default-server" -> new String[][] {MIX[11]};
            default -> throw new IllegalArgumentException(requests);
        };
        hosts = new String[chosen.length];
        paths = new String[chosen.length];
        for (int i = 0; i < chosen.length; i++) {
            hosts[i] = chosen[i][0];
            paths[i] = chosen[i][1];
            Route r = route(hosts[i], paths[i]);
            if (r == null || !chosen[i][2].equals(r.name())) {
                throw new IllegalStateException(hosts[i] + paths[i] + " routed to " + (r == null ? "nothing" : r.name())
                        + ", expected " + chosen[i][2]);
            }
        }
    }

    @Benchmark
    public Route route() {
        int i = next;
        next = i + 1 == hosts.length ? 0 : i + 1;
        return route(hosts[i], paths[i]);
    }

    private Route route(String hostHeader, String path) {
        VirtualServer vs = router.select(Router.normalizeHost(hostHeader));
        return vs.route(path);
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = RouteBenchmark.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name + " is not on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
