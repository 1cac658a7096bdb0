package io.portico.server.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The admin section: loopback by default, one token source at most, and it can be turned off. */
class AdminConfigTest {

    private static final String BASE = """
            listeners: [{address: "127.0.0.1:0"}]
            servers: [{routes: [{match: {prefix: /}, respond: {status: 200}}]}]
            """;

    @Test
    void listensOnLoopbackPort9901WithoutATokenByDefault() throws ConfigException {
        AdminConfig admin = ConfigLoader.parse("a.yaml", BASE).admin();
        assertThat(admin.enabled()).isTrue();
        assertThat(admin.address()).isEqualTo(new HostPort("127.0.0.1", 9901));
        assertThat(admin.tokenFile()).isNull();
        assertThat(admin.tokenEnv()).isNull();
    }

    @Test
    void aTokenFromBothAFileAndAVariableIsRefusedNamingTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("a.yaml", BASE + """
                admin:
                  token_file: conf/admin.token
                  token_env: PORTICO_TOKEN
                """)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("a.yaml:4: admin.token_file: give the token in token_file or token_env, not both");
    }

    @Test
    void canBeTurnedOff() throws ConfigException {
        assertThat(ConfigLoader.parse("a.yaml", BASE + "admin: {enabled: false}\n").admin().enabled()).isFalse();
    }
}
