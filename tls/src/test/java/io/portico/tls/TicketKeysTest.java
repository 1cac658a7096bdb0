package io.portico.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class TicketKeysTest {

    @TempDir
    Path dir;

    @Test
    void readsFilesOf80And48ByteKeys() throws Exception {
        assertThat(TicketKeys.fromFile(Files.write(dir.resolve("one.key"), new byte[80])).size()).isEqualTo(1);
        assertThat(TicketKeys.fromFile(Files.write(dir.resolve("two.key"), new byte[160])).size()).isEqualTo(2);
        assertThat(TicketKeys.fromFile(Files.write(dir.resolve("short.key"), new byte[48])).size()).isEqualTo(1);
        assertThat(TicketKeys.fromFile(Files.write(dir.resolve("shorts.key"), new byte[96])).size()).isEqualTo(2);
        assertThat(TicketKeys.fromFiles(List.of(dir.resolve("one.key"), dir.resolve("short.key"))).size()).isEqualTo(2);
    }

    @Test
    void explainsAFileOfTheWrongSize() throws Exception {
        Path file = Files.write(dir.resolve("bad.key"), new byte[50]);

        assertThatThrownBy(() -> TicketKeys.fromFile(file))
                .isInstanceOf(TlsConfigException.class)
                .hasMessage("session ticket key file " + file + " holds 50 bytes; expected 48-byte or 80-byte keys"
                        + " (e.g. openssl rand 80 > bad.key)");
        assertThatThrownBy(() -> TicketKeys.fromFile(dir.resolve("missing.key")))
                .hasMessageEndingWith("missing.key: no such file");
    }

    @Test
    void keepsTheCurrentAndThePreviousRandomKey() {
        TicketKeys keys = TicketKeys.random(null);

        assertThat(keys.size()).isEqualTo(1);
        keys.rotate();
        assertThat(keys.size()).isEqualTo(2);
        keys.rotate();
        assertThat(keys.size()).isEqualTo(2);
        assertThat(keys.rotatesItself()).isFalse();
    }

    @Test
    void rotatesOnItsOwnScheduleUntilClosed() {
        try (TicketKeys keys = TicketKeys.random(Duration.ofMillis(50))) {
            assertThat(keys.rotatesItself()).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> keys.size() == 2);
        }
    }

    @Test
    void fileKeysDoNotRotate() throws Exception {
        TicketKeys keys = TicketKeys.fromFile(Files.write(dir.resolve("k"), new byte[80]));

        assertThatThrownBy(keys::rotate).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("replace the file and reload");
    }
}
