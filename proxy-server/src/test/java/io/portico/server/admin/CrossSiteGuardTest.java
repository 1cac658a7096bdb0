package io.portico.server.admin;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which browser requests may change the admin listener's state. */
class CrossSiteGuardTest {

    @Test
    void theOwnOriginIsTheHostReachedByAddressOrLocalhost() {
        assertThat(CrossSiteGuard.ownOrigin("http://127.0.0.1:9901", "127.0.0.1:9901")).isTrue();
        assertThat(CrossSiteGuard.ownOrigin("http://LOCALHOST:9901", "localhost:9901")).isTrue();
        assertThat(CrossSiteGuard.ownOrigin("http://[::1]:9901", "[::1]:9901")).isTrue();
        assertThat(CrossSiteGuard.ownOrigin("http://10.0.0.5", "10.0.0.5")).isTrue();
        // Another port of the same host is another origin (a local dev server, say).
        assertThat(CrossSiteGuard.ownOrigin("http://127.0.0.1:3000", "127.0.0.1:9901")).isFalse();
        assertThat(CrossSiteGuard.ownOrigin("https://127.0.0.1:9901", "127.0.0.1:9901")).isFalse();
        assertThat(CrossSiteGuard.ownOrigin("null", "127.0.0.1:9901")).isFalse();
        assertThat(CrossSiteGuard.ownOrigin("http://127.0.0.1:9901", null)).isFalse();
        // A name its owner can point at 127.0.0.1 (DNS rebinding).
        assertThat(CrossSiteGuard.ownOrigin("http://admin.example:9901", "admin.example:9901")).isFalse();
    }

    @Test
    void onlyRequestsABrowserMarksAsFromElsewhereAreRefused() {
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Host", "127.0.0.1:9901"))).isNull();
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Host", "127.0.0.1:9901")
                .add("Origin", "http://127.0.0.1:9901").add("Sec-Fetch-Site", "same-origin"))).isNull();
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Sec-Fetch-Site", "none"))).isNull();
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Host", "127.0.0.1:9901")
                .add("Origin", "http://evil.example"))).contains("Origin http://evil.example");
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Host", "127.0.0.1:9901")
                .add("Origin", "http://127.0.0.1:9901").add("Origin", "http://evil.example"))).isNotNull();
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Sec-Fetch-Site", "Cross-Site")))
                .contains("cross-site");
        assertThat(CrossSiteGuard.refusal(new DefaultHttpHeaders().add("Sec-Fetch-Site", "same-site"))).isNotNull();
    }
}
