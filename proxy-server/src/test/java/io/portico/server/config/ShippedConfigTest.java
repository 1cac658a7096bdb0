package io.portico.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/** The files under {@code conf/} that ship with Portico. Surefire runs in {@code proxy-server/}. */
class ShippedConfigTest {

    private static final Path CONF = Path.of("..", "conf");
    private static final Path DEFAULT_CONFIG = CONF.resolve("portico.yaml");

    @Test
    void defaultConfigLoadsWithTheDocumentedValues() throws ConfigException {
        PorticoConfig config = ConfigLoader.load(DEFAULT_CONFIG);

        assertThat(config.transport()).isEqualTo(TransportKind.AUTO);
        assertThat(config.workers()).isZero();
        assertThat(config.listeners()).hasSize(2);
        assertThat(config.listeners().get(1)).satisfies(l -> {
            assertThat(l.name()).isEqualTo("https");
            assertThat(l.address()).isEqualTo(new HostPort("0.0.0.0", 8443));
            assertThat(l.tls()).isNotNull();
            assertThat(l.tls().certificates()).isEmpty();
            assertThat(l.tls().profile()).isEqualTo("intermediate");
        });
        assertThat(config.listeners().get(0)).satisfies(l -> {
            assertThat(l.name()).isEqualTo("http");
            assertThat(l.address()).isEqualTo(new HostPort("0.0.0.0", 8080));
            assertThat(l.backlog()).isEqualTo(4096);
            assertThat(l.reusePort()).isFalse();
            assertThat(l.tcpNodelay()).isTrue();
            assertThat(l.tcpKeepalive()).isEqualTo(new TcpKeepaliveConfig(false, Duration.ZERO, Duration.ZERO, 0));
        });
        assertThat(config.upstreams()).containsOnlyKeys("demo");
        UpstreamConfig demo = config.upstreams().get("demo");
        assertThat(demo.backends()).singleElement()
                .isEqualTo(new BackendConfig(new HostPort("127.0.0.1", 8081), 1, 0, false, false));
        assertThat(demo.balance()).isEqualTo(BalanceAlgorithm.ROUND_ROBIN);
        assertThat(demo.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.servers()).singleElement().satisfies(s -> {
            assertThat(s.defaultServer()).isTrue();
            assertThat(s.names()).isEmpty();
            assertThat(s.listeners()).isEmpty();
            assertThat(s.maxBodySize().bytes()).isEqualTo(1L << 20);
            assertThat(s.routes()).singleElement().satisfies(r -> {
                assertThat(r.match().prefix()).isEqualTo("/");
                assertThat(r.upstream()).isEqualTo("demo");
                assertThat(r.name()).isEqualTo("/");
                assertThat(r.cache().enabled()).isTrue();
            });
        });
        assertThat(config.forwarding().trustedProxies()).isEmpty();
        assertThat(config.accessLog()).isEqualTo(new AccessLogConfig(true, "logs/access.log", 65536));
        assertThat(config.demoOrigin()).isEqualTo(new DemoOriginConfig(true, new HostPort("127.0.0.1", 8081)));
        assertThat(config.shutdownTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void defaultConfigWritesOutTheSameValuesTheProgramDefaultsTo() throws Exception {
        PorticoConfig shipped = ConfigLoader.load(DEFAULT_CONFIG);

        assertThat(shipped.listeners().get(0)).isEqualTo(
                ConfigLoader.parse("t", "name: http\naddress: 0.0.0.0:8080", ListenerConfig.class));
        assertThat(shipped.upstreams().get("demo")).isEqualTo(
                ConfigLoader.parse("t", "backends: [{address: 127.0.0.1:8081}]", UpstreamConfig.class));
        assertThat(shipped.servers().get(0)).isEqualTo(ConfigLoader.parse("t",
                "default: true\nroutes: [{match: {prefix: /}, upstream: demo, cache: {enabled: true, compress: true}}]", ServerConfig.class));
        assertThat(shipped.cache()).isEqualTo(ConfigLoader.parse("t", "", CacheConfig.class));
        assertThat(shipped.forwarding()).isEqualTo(ConfigLoader.parse("t", "", ForwardingConfig.class));
        assertThat(shipped.resolver()).isEqualTo(ConfigLoader.parse("t", "", ResolverConfig.class));
        assertThat(shipped.accessLog()).isEqualTo(ConfigLoader.parse("t", "", AccessLogConfig.class));
        PorticoConfig defaults = ConfigLoader.parse("t", "listeners: [{address: 0.0.0.0:8080}]\n"
                + "servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]");
        assertThat(shipped.transport()).isEqualTo(defaults.transport());
        assertThat(shipped.workers()).isEqualTo(defaults.workers());
        assertThat(shipped.shutdownTimeout()).isEqualTo(defaults.shutdownTimeout());
    }

    /**
     * Keeps "every key is written out" true as records grow: each key of each record the default
     * config fills in must be in the file, and optional keys (and records only reachable through
     * them, as redirect) must at least be shown in a commented example.
     */
    @Test
    void defaultConfigWritesOutEveryKey() throws IOException {
        String text = Files.readString(DEFAULT_CONFIG);
        MappingNode root = (MappingNode) new Yaml().compose(new StringReader(text));
        List<String> missing = new ArrayList<>();

        checkWritten(PorticoConfig.class, root, "", missing);
        for (Class<?> record : reachableRecords(PorticoConfig.class)) {
            for (RecordComponent c : record.getRecordComponents()) {
                String key = ConfigBinder.keyOf(c);
                Pattern line = Pattern.compile("(?m)^[ \\t]*(#[ \\t]*)?(-[ \\t]+)?" + Pattern.quote(key) + ":");
                if (!line.matcher(text).find()) {
                    missing.add(record.getSimpleName() + "." + key + " (not even in a comment)");
                }
            }
        }

        assertThat(missing).as("keys not written out in %s", DEFAULT_CONFIG).isEmpty();
    }

    static Stream<Path> examples() throws IOException {
        try (Stream<Path> files = Files.list(CONF.resolve("examples"))) {
            return files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("examples")
    void everyExampleConfigLoads(Path example) throws ConfigException {
        PorticoConfig config = ConfigLoader.load(example);

        assertThat(config.listeners()).isNotEmpty();
        assertThat(config.servers()).isNotEmpty();
    }

    @Test
    void thereIsAMinimalExample() throws IOException {
        assertThat(examples()).contains(CONF.resolve("examples").resolve("minimal.yaml"));
    }

    private static void checkWritten(Class<?> record, MappingNode node, String path, List<String> missing) {
        for (RecordComponent c : record.getRecordComponents()) {
            String key = ConfigBinder.keyOf(c);
            String keyPath = path.isEmpty() ? key : path + "." + key;
            Node value = valueOf(node, key);
            if (value == null) {
                if (!c.isAnnotationPresent(Nullable.class)) {
                    missing.add(keyPath);
                }
                continue;
            }
            Type type = c.getGenericType();
            if (ConfigBinder.isNested(c.getType())) {
                checkWritten(c.getType(), (MappingNode) value, keyPath, missing);
            } else if (type instanceof ParameterizedType p && p.getActualTypeArguments()[p.getActualTypeArguments().length - 1]
                    instanceof Class<?> element && ConfigBinder.isNested(element)) {
                if (value instanceof SequenceNode seq) {
                    // The first element of a list is the reference; later ones may lean on the defaults.
                    if (!seq.getValue().isEmpty()) {
                        checkWritten(element, (MappingNode) seq.getValue().get(0), keyPath + "[0]", missing);
                    }
                } else {
                    for (NodeTuple entry : ((MappingNode) value).getValue()) {
                        String name = ((ScalarNode) entry.getKeyNode()).getValue();
                        checkWritten(element, (MappingNode) entry.getValueNode(), keyPath + "." + name, missing);
                    }
                }
            }
        }
    }

    private static Node valueOf(MappingNode node, String key) {
        for (NodeTuple entry : node.getValue()) {
            if (entry.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                return entry.getValueNode();
            }
        }
        return null;
    }

    private static Set<Class<?>> reachableRecords(Class<?> root) {
        Set<Class<?>> found = new LinkedHashSet<>();
        collect(root, found);
        return found;
    }

    private static void collect(Type type, Set<Class<?>> found) {
        if (type instanceof ParameterizedType p) {
            for (Type arg : p.getActualTypeArguments()) {
                collect(arg, found);
            }
        } else if (type instanceof Class<?> c && ConfigBinder.isNested(c) && found.add(c)) {
            for (RecordComponent component : c.getRecordComponents()) {
                collect(component.getGenericType(), found);
            }
        }
    }
}
