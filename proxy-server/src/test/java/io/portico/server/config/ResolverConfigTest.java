package io.portico.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ResolverConfigTest {

    private static final String BASE = """
            servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
            listeners: [{address: 127.0.0.1:8080}]
            """;

    private static ConfigException failure(String resolver) {
        String yaml = BASE + "resolver:\n" + resolver;
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("portico.yaml", yaml));
        assertThat(e).as("a ConfigException for:%n%s", yaml).isNotNull();
        return e;
    }

    @Test
    void leftOutItUsesResolvConfAndHonoursRecordTtls() throws ConfigException {
        ResolverConfig r = ConfigLoader.parse("portico.yaml", BASE).resolver();

        assertThat(r.nameservers()).isEmpty();
        assertThat(r.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(r.minTtlSeconds()).isZero();
        assertThat(r.maxTtlSeconds()).isEqualTo(Integer.MAX_VALUE);
        assertThat(r.negativeTtlSeconds()).isEqualTo(10);
        assertThat(r.ipv6()).isFalse();
    }

    @Test
    void readsNameserversAndTtlBounds() throws ConfigException {
        ResolverConfig r = ConfigLoader.parse("portico.yaml", BASE + """
                resolver:
                  nameservers: [10.0.0.2:53, "[fd00::53]:5353"]
                  min_ttl: 5s
                  max_ttl: 5m
                  negative_ttl: 0s
                  ipv6: on
                """).resolver();

        assertThat(r.nameservers()).containsExactly(new HostPort("10.0.0.2", 53), new HostPort("fd00::53", 5353));
        assertThat(r.minTtlSeconds()).isEqualTo(5);
        assertThat(r.maxTtlSeconds()).isEqualTo(300);
        assertThat(r.negativeTtlSeconds()).isZero();
        assertThat(r.ipv6()).isTrue();
    }

    @Test
    void refusesANameserverGivenByName() {
        assertThat(failure("  nameservers: [dns.example.com:53]\n")).hasMessageContaining(
                "portico.yaml:4: resolver.nameservers[0]: must be an IP address and port");
    }

    @Test
    void refusesANameserverWithoutAPort() {
        assertThat(failure("  nameservers: [\"10.0.0.2:0\"]\n")).hasMessageContaining(
                "resolver.nameservers[0]: needs a port, usually 53");
    }

    @Test
    void refusesTtlsThatAreNotWholeSeconds() {
        assertThat(failure("  max_ttl: 1500ms\n")).hasMessage(
                "portico.yaml:4: resolver.max_ttl: must be whole seconds (DNS TTLs are), got 1500ms");
    }

    @Test
    void refusesAMinimumAboveTheMaximum() {
        assertThat(failure("  min_ttl: 1m\n  max_ttl: 30s\n")).hasMessage(
                "portico.yaml:4: resolver.min_ttl: cannot be longer than max_ttl (30s)");
    }

    @Test
    void refusesAZeroTimeout() {
        assertThat(failure("  timeout: 0s\n")).hasMessage("portico.yaml:4: resolver.timeout: must be positive");
    }
}
