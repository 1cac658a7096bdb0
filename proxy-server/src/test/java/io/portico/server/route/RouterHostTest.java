package io.portico.server.route;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The normal form of a Host header that virtual-server selection uses. The last one is kept for
 * the next request, so alternating hosts must each still get their own.
 */
class RouterHostTest {

    @Test
    void hostsAreCutToTheirNameAndLowerCasedEvenWhenTheyAlternate() {
        for (int round = 0; round < 3; round++) {
            assertThat(Router.normalizeHost("Example.COM:8080")).isEqualTo("example.com");
            assertThat(Router.normalizeHost("example.com.")).isEqualTo("example.com");
            assertThat(Router.normalizeHost("127.0.0.1:18081")).isEqualTo("127.0.0.1");
            assertThat(Router.normalizeHost("127.0.0.1:18081")).isEqualTo("127.0.0.1");
            assertThat(Router.normalizeHost("[::1]:443")).isEqualTo("[::1]");
            assertThat(Router.normalizeHost("api.example")).isEqualTo("api.example");
        }
    }

    @Test
    void invalidHostsAreRefusedEachTime() {
        for (int round = 0; round < 2; round++) {
            assertThat(Router.normalizeHost("a b")).isNull();
            assertThat(Router.normalizeHost("")).isNull();
            assertThat(Router.normalizeHost("   ")).isNull();
            assertThat(Router.normalizeHost("host:80:81")).isNull();
            assertThat(Router.normalizeHost("host:8x")).isNull();
            assertThat(Router.normalizeHost("[::1")).isNull();
            assertThat(Router.normalizeHost("[::1]:8x")).isNull();
            assertThat(Router.normalizeHost("[::1]:@evil.test")).isNull();
            assertThat(Router.normalizeHost("[::1]x")).isNull();
            assertThat(Router.normalizeHost("[a/b]")).isNull();
            assertThat(Router.normalizeHost("[]")).isNull();
            assertThat(Router.normalizeHost("[::1]:")).isEqualTo("[::1]");
            assertThat(Router.normalizeHost("[::FFFF:127.0.0.1]:80")).isEqualTo("[::ffff:127.0.0.1]");
            assertThat(Router.normalizeHost("example.com")).isEqualTo("example.com");
            assertThat(Router.normalizeHost(null)).isNull();
        }
    }
}
