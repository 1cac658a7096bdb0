package io.portico.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Portico configs {@code bin/bench} and {@code bin/bench-l4} fill in and run
 * ({@code load-tests/bench/}): once their placeholders are replaced as the scripts replace them,
 * each must load, so that a config change cannot break a benchmark only the lead runs, hours
 * later on a quiet machine. Surefire runs in {@code proxy-server/}.
 */
class BenchConfigTest {

    private static final Path BENCH = Path.of("..", "load-tests", "bench");
    private static final Pattern PLACEHOLDER = Pattern.compile("@[A-Z_]+@");

    /** What bin/bench and bin/bench-l4 put in place of each placeholder (ports, paths, switches). */
    private static final Map<String, String> FILLS = Map.ofEntries(
            Map.entry("@PORT@", "18082"),
            Map.entry("@H2C_PORT@", "18083"),
            Map.entry("@RSA_PORT@", "18086"),
            Map.entry("@ORIGIN_PORT@", "18080"),
            Map.entry("@WS_ORIGIN_PORT@", "18090"),
            Map.entry("@TRANSPORT@", "auto"),
            Map.entry("@FORWARD@", "true"),
            Map.entry("@WS_MODE@", "frames"),
            Map.entry("@SPLICE@", "false"),
            Map.entry("@HALF_CLOSE@", "true"),
            Map.entry("@CERTS@", "/tmp/portico-bench/certs"),
            Map.entry("@PREFIX@", "/tmp/portico-bench/portico"));

    static Stream<Path> porticoTemplates() throws IOException {
        try (Stream<Path> files = Files.walk(BENCH)) {
            List<Path> list = files.filter(p -> p.getFileName().toString().endsWith("portico.yaml")).sorted().toList();
            assertThat(list).as("Portico templates under %s", BENCH).hasSizeGreaterThanOrEqualTo(6);
            return list.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("porticoTemplates")
    void benchTemplateLoadsOnceFilledInAndKeepsTheAdminPortFree(Path template) throws Exception {
        PorticoConfig config = ConfigLoader.parse(template.toString(), fill(template));

        assertThat(config.workers()).as("one event loop, as each peer has one worker").isEqualTo(1);
        // The admin listener's fixed port would clash with any other Portico on the machine.
        assertThat(config.admin().enabled()).isFalse();
    }

    @Test
    void h2TemplateOffersH2OverTlsAndH2cOnThePlainListener() throws Exception {
        Path template = BENCH.resolve("h2.portico.yaml");
        PorticoConfig config = ConfigLoader.parse(template.toString(), fill(template));

        assertThat(config.listeners()).hasSize(2);
        ListenerConfig tls = config.listeners().get(0);
        ListenerConfig plain = config.listeners().get(1);
        assertThat(tls.tls()).isNotNull();
        assertThat(tls.address().port()).isEqualTo(18082);
        assertThat(plain.tls()).isNull();
        assertThat(plain.address().port()).isEqualTo(18083);
        assertThat(config.listeners()).allSatisfy(l -> assertThat(l.http2().enabled()).isTrue());
        assertThat(plain.http2().h2c()).isTrue();
    }

    @Test
    void wsTemplateRoutesEveryPathToTheEchoOriginWithWebSocketsOn() throws Exception {
        Path template = BENCH.resolve("ws.portico.yaml");
        PorticoConfig config = ConfigLoader.parse(template.toString(), fill(template));

        assertThat(config.upstreams().get("ws_origin").backends()).singleElement()
                .satisfies(b -> assertThat(b.address().port()).isEqualTo(18090));
        RouteConfig route = config.servers().get(0).routes().get(0);
        assertThat(route.match().prefix()).isEqualTo("/");
        assertThat(route.websocket().enabled()).isTrue();
        assertThat(route.websocket().mode()).isEqualTo("frames");
    }

    private static String fill(Path template) throws IOException {
        String text = Files.readString(template);
        for (Map.Entry<String, String> e : FILLS.entrySet()) {
            text = text.replace(e.getKey(), e.getValue());
        }
        // Placeholders in comments are documentation; any left in the YAML itself is one the test does not know.
        String yaml = text.lines().filter(l -> !l.stripLeading().startsWith("#")).reduce("", (a, b) -> a + b + "\n");
        assertThat(PLACEHOLDER.matcher(yaml).find()).as("unknown placeholder in %s", template).isFalse();
        return text;
    }
}
