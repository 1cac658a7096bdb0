package io.portico.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** health_check, outlier, slow_start and the hash tier keys: defaults, and errors with file, line and key. */
class HealthConfigTest {

    private static UpstreamConfig group(String keys) throws ConfigException {
        return ConfigLoader.parse("up.yaml", "backends: [{address: 10.0.0.1:80}, {address: 10.0.0.2:80}]\n" + keys,
                UpstreamConfig.class);
    }

    private static ConfigException failure(String keys) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> group(keys));
        assertThat(e).as("a ConfigException for:%n%s", keys).isNotNull();
        return e;
    }

    @Test
    void leftOutChecksAreOffAndDefaultsFollowHaproxyAndEnvoy() throws ConfigException {
        UpstreamConfig g = group("");

        HealthCheckConfig hc = g.healthCheck();
        assertThat(hc.enabled()).isFalse();
        assertThat(hc.type()).isEqualTo(HealthCheckType.HTTP);
        assertThat(hc.path()).isEqualTo("/");
        assertThat(hc.host()).isNull();
        assertThat(hc.statuses().contains(200)).isTrue();
        assertThat(hc.statuses().contains(399)).isTrue();
        assertThat(hc.statuses().contains(400)).isFalse();
        assertThat(hc.interval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(hc.jitter()).isEqualTo(Duration.ofMillis(500));
        assertThat(hc.timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(hc.rise()).isEqualTo(2);
        assertThat(hc.fall()).isEqualTo(3);
        assertThat(g.outlier().enabled()).isFalse();
        assertThat(g.outlier().baseEjectionTime()).isEqualTo(Duration.ofSeconds(30));
        assertThat(g.outlier().maxEjectionPercent()).isEqualTo(10);
        assertThat(g.slowStart()).isZero();
        assertThat(g.hash().algorithm()).isEqualTo(HashAlgorithm.KETAMA);
        assertThat(g.hash().boundedLoad()).isEqualTo(1.25);
        assertThat(g.hash().hotKeyThreshold()).isZero();
    }

    @Test
    void readsStatusListsAndRanges() throws ConfigException {
        HealthCheckConfig hc = group("""
                health_check:
                  enabled: true
                  expected_status: 200, 204,301-302
                  body_matches: "^ok$"
                """).healthCheck();

        assertThat(hc.statuses().contains(204)).isTrue();
        assertThat(hc.statuses().contains(302)).isTrue();
        assertThat(hc.statuses().contains(303)).isFalse();
        assertThat(hc.bodyPattern().matcher("ok").find()).isTrue();
    }

    @Test
    void refusesABadStatusSet() {
        assertThat(failure("health_check:\n  expected_status: 2xx\n"))
                .hasMessage("up.yaml:3: health_check.expected_status: must be status codes and ranges such as "
                        + "200-399 or 200,204, got '2xx'");
        assertThat(failure("health_check:\n  expected_status: 300-200\n"))
                .hasMessageContaining("health_check.expected_status: codes must be 100..599 and ranges low-high");
    }

    @Test
    void refusesABrokenRegexAJitterAsLongAsTheIntervalAndZeroThresholds() {
        assertThat(failure("health_check:\n  body_matches: \"(\"\n"))
                .hasMessageStartingWith("up.yaml:3: health_check.body_matches: not a valid regular expression");
        assertThat(failure("health_check:\n  interval: 1s\n  jitter: 1s\n"))
                .hasMessage("up.yaml:4: health_check.jitter: must be at least 0s and shorter than interval (1000ms)");
        assertThat(failure("health_check:\n  rise: 0\n")).hasMessage("up.yaml:3: health_check.rise: must be at least 1");
        assertThat(failure("health_check:\n  path: no-slash\n"))
                .hasMessageContaining("health_check.path: must start with /");
    }

    @Test
    void refusesAnEjectionCapBelowTheBaseAndAPercentOver100() {
        assertThat(failure("outlier:\n  base_ejection_time: 1m\n  max_ejection_time: 30s\n"))
                .hasMessage("up.yaml:4: outlier.max_ejection_time: cannot be shorter than base_ejection_time");
        assertThat(failure("outlier:\n  max_ejection_percent: 101\n"))
                .hasMessage("up.yaml:3: outlier.max_ejection_percent: must be 0..100");
    }

    @Test
    void refusesSlowStartWithConsistentHashingAsNginxDoes() {
        assertThat(failure("balance: consistent_hash\nslow_start: 30s\n"))
                .hasMessage("up.yaml:3: slow_start: does not apply to balance: consistent_hash");
    }

    @Test
    void refusesResolveOnAnAddress() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("up.yaml",
                "backends:\n  - address: 10.0.0.1:80\n    resolve: true\n", UpstreamConfig.class));
        assertThat(e).hasMessage("up.yaml:3: backends[0].resolve: needs a host name, not the address 10.0.0.1");
    }

    @Test
    void refusesABoundedLoadBelowOneAndAMaglevTableThatIsNotPrime() {
        assertThat(failure("hash:\n  bounded_load: 0.5\n"))
                .hasMessage("up.yaml:3: hash.bounded_load: must be 0 (off) or 1..100, got 0.5");
        assertThat(failure("hash:\n  algorithm: maglev\n  maglev_table_size: 65536\n"))
                .hasMessage("up.yaml:4: hash.maglev_table_size: must be a prime in 101..5000011, got 65536");
        assertThat(failure("hash:\n  algorithm: rendezvous\n")).hasMessageContaining("hash.algorithm");
    }
}
