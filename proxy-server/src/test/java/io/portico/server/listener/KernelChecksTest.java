package io.portico.server.listener;

import io.portico.server.config.ListenerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class KernelChecksTest {

    private static final long PLENTY_OF_FILES = 1 << 20;

    @TempDir
    Path proc;

    @Test
    void warnsWhenSomaxconnCapsTheBacklog() throws IOException {
        write("sys/net/core/somaxconn", "128\n");

        List<String> warnings = KernelChecks.warnings(List.of(listener("http", 4096, 0, 0), listener("admin", 64, 0, 0)),
                proc, PLENTY_OF_FILES);

        assertThat(warnings).containsExactly(
                "listener http: backlog 4096 is capped by net.core.somaxconn=128; raise it with sysctl -w net.core.somaxconn=4096");
    }

    @Test
    void warnsWhenFastOpenIsSetButTheKernelServesNoFastOpen() throws IOException {
        write("sys/net/ipv4/tcp_fastopen", "1\n");

        List<String> warnings = KernelChecks.warnings(List.of(listener("http", 128, 64, 0), listener("plain", 128, 0, 0)),
                proc, PLENTY_OF_FILES);

        assertThat(warnings).containsExactly("listener http: fast_open is set but net.ipv4.tcp_fastopen=1 does not"
                + " enable server-side TCP Fast Open (bit 0x2); set it to 3");
    }

    @Test
    void acceptsFastOpenWhenTheServerBitIsSet() throws IOException {
        write("sys/net/ipv4/tcp_fastopen", "3\n");

        assertThat(KernelChecks.warnings(List.of(listener("http", 128, 64, 0)), proc, PLENTY_OF_FILES)).isEmpty();
    }

    @Test
    void warnsWhenABufferIsAboveWhatTheKernelAllows() throws IOException {
        write("sys/net/core/rmem_max", "212992\n");
        write("sys/net/core/wmem_max", "212992\n");

        List<String> warnings = KernelChecks.warnings(List.of(listener("http", 128, 0, 1 << 20)), proc, PLENTY_OF_FILES);

        assertThat(warnings).containsExactly(
                "listener http: receive_buffer 1m is capped by net.core.rmem_max=212992",
                "listener http: send_buffer 1m is capped by net.core.wmem_max=212992");
    }

    @Test
    void warnsAboutALowOpenFileLimit() {
        List<String> warnings = KernelChecks.warnings(List.of(listener("http", 128, 0, 0)), proc, 1024);

        assertThat(warnings).containsExactly("open file limit (ulimit -n) is 1024; every client and upstream"
                + " connection needs a descriptor, raise it to at least 65536");
    }

    @Test
    void warnsAboutANarrowEphemeralPortRange() throws IOException {
        write("sys/net/ipv4/ip_local_port_range", "40000\t50000\n");

        List<String> warnings = KernelChecks.warnings(List.of(), proc, PLENTY_OF_FILES);

        assertThat(warnings).containsExactly("net.ipv4.ip_local_port_range 40000-50000 leaves only 10001"
                + " ephemeral ports for connections to each upstream address");
    }

    @Test
    void aDefaultLinuxTuningGivesNoWarning() throws IOException {
        write("sys/net/core/somaxconn", "4096\n");
        write("sys/net/ipv4/tcp_fastopen", "3\n");
        write("sys/net/core/rmem_max", "4194304\n");
        write("sys/net/core/wmem_max", "4194304\n");
        write("sys/net/ipv4/ip_local_port_range", "32768\t60999\n");

        assertThat(KernelChecks.warnings(List.of(listener("http", 4096, 64, 256 * 1024)), proc, 65536)).isEmpty();
    }

    @Test
    void settingsThatCannotBeReadGiveNoWarning() throws IOException {
        write("sys/net/core/somaxconn", "not a number\n");

        assertThat(KernelChecks.warnings(List.of(listener("http", 1_000_000, 64, 1 << 30)), proc, -1)).isEmpty();
    }

    @Test
    void readsTheRealProcTreeInFull() throws IOException {
        Path somaxconn = Path.of("/proc/sys/net/core/somaxconn");
        assumeTrue(Files.isReadable(somaxconn), "no /proc/sys here");
        long limit = Long.parseLong(Files.readAllLines(somaxconn).get(0).trim());

        List<String> warnings = KernelChecks.warnings(List.of(listener("huge", (int) limit + 1, 0, 0)));

        assertThat(warnings).contains("listener huge: backlog " + (limit + 1) + " is capped by net.core.somaxconn="
                + limit + "; raise it with sysctl -w net.core.somaxconn=" + (limit + 1));
    }

    private static ListenerConfig listener(String name, int backlog, int fastOpen, long buffers) {
        return Fixtures.listener(name, backlog, false, fastOpen, true, Fixtures.KEEPALIVE_OFF, Duration.ZERO,
                buffers, buffers);
    }

    private void write(String relative, String content) throws IOException {
        Path file = proc.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }
}
