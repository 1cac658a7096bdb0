package io.portico.tls;

import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TlsProvidersTest {

    @Test
    void prefersOpenSslWhenItLoads() {
        assertThat(TlsProviders.select(TlsProviders.Choice.AUTO)).isEqualTo(SslProvider.OPENSSL);
        assertThat(TlsProviders.select(TlsProviders.Choice.OPENSSL)).isEqualTo(SslProvider.OPENSSL);
        assertThat(TlsProviders.select(TlsProviders.Choice.JDK)).isEqualTo(SslProvider.JDK);
    }

    @Test
    void describesBothProvidersForTheStartupLog() {
        assertThat(TlsProviders.describe(SslProvider.OPENSSL)).startsWith("openssl (BoringSSL");
        assertThat(TlsProviders.describe(SslProvider.JDK)).startsWith("jdk (SunJSSE, Java 17");
    }

    @Test
    void profilesFollowMozilla() {
        assertThat(TlsProfile.INTERMEDIATE.protocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(TlsProfile.MODERN.protocols()).containsExactly("TLSv1.3");
        assertThat(TlsProfile.INTERMEDIATE.ciphers()).contains("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
                .noneMatch(c -> c.contains("CBC") || c.contains("_RSA_WITH_AES") && !c.contains("DHE"));
        assertThat(TlsProfile.MODERN.ciphers()).allMatch(c -> TlsProfile.INTERMEDIATE.ciphers().contains(c));
    }
}
