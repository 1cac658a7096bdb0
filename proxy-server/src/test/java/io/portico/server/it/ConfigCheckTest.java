package io.portico.server.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code portico --check FILE}, as an operator runs it before a reload: it must fail on what
 * starting would fail on, not only on the file's syntax (it said "valid" for a certificate that
 * does not exist, a missing admin token file, a host that does not resolve).
 */
class ConfigCheckTest {

    @TempDir
    Path dir;

    private record Outcome(int exit, String output) {
    }

    private Outcome check(Path file) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "io.portico.server.Portico",
                "--check", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Outcome(p.exitValue(), out);
    }

    @Test
    void failsOnWhatStartingWouldFailOnAndNamesTheKeys() throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, """
                listeners:
                  - name: web
                    address: nohost.invalid:8080
                  - name: secure
                    address: 127.0.0.1:8443
                    tls:
                      certificates:
                        - cert: %s
                          key: %s
                admin:
                  address: 127.0.0.1:9901
                  token_file: %s
                servers:
                  - routes: [{match: {prefix: /}, respond: {status: 204}}]
                """.formatted(dir.resolve("missing.crt"), dir.resolve("missing.key"), dir.resolve("no-token")));
        Outcome o = check(file);
        assertThat(o.exit()).as(o.output()).isEqualTo(1);
        assertThat(o.output())
                .contains(file + ": listeners[0].address: host not found: nohost.invalid")
                .contains(file + ": listeners[1].tls: ")
                .contains(file + ": admin.token_file: cannot read " + dir.resolve("no-token"))
                .doesNotContain("is valid");
    }

    @Test
    void theShippedConfigIsValid() throws Exception {
        Path shipped = Path.of("..", "conf", "portico.yaml").toAbsolutePath().normalize();
        Outcome o = check(shipped);
        assertThat(o.exit()).as(o.output()).isZero();
        assertThat(o.output()).contains("is valid");
    }
}
