package io.portico.server.upstream.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HashKeysTest {

    @Test
    void readsTheFirstFourMd5BytesLittleEndian() {
        // RFC 1321 test suite digests: d41d8cd9..., 90015098..., f96b697d...
        assertThat(HashKeys.hash("")).isEqualTo(0xd98c1dd4L);
        assertThat(HashKeys.hash("abc")).isEqualTo(0x98500190L);
        assertThat(HashKeys.hash("message digest")).isEqualTo(0x7d696bf9L);
    }

    @Test
    void hashesTheUtf8BytesOfAnyKey() {
        List<String> keys = new ArrayList<>(List.of(
                "/obj/1", "/caf\u00e9?q=\u00fc", "/\u65e5\u672c\u8a9e", "emoji \uD83D\uDE00 x",
                "lone high \uD800x", "lone low \uDC00", "trailing high \uD83D", "reversed \uDE00\uD83D"));
        // Multi-byte characters straddling the encoder's 256-byte chunks at every offset.
        for (int prefix = 240; prefix < 260; prefix++) {
            keys.add("a".repeat(prefix) + "\u00e9\u65e5\uD83D\uDE00".repeat(40));
        }
        keys.add("/long/" + "\u00e9x\uD83D\uDE00".repeat(5000));

        for (String key : keys) {
            assertThat(HashKeys.hash(key)).as(key).isEqualTo(KetamaReference.hash(key));
        }
    }

    @Test
    void givesTheSameHashForEveryCharSequenceOfTheSameText() {
        long expected = HashKeys.hash("/a/b?c=d");

        assertThat(HashKeys.hash(new StringBuilder("/a/b?c=d"))).isEqualTo(expected);
        assertThat(HashKeys.hash(AsciiString.of("/a/b?c=d"))).isEqualTo(expected);
    }

    @Test
    void staysWithinUnsigned32Bits() {
        for (int i = 0; i < 10_000; i++) {
            assertThat(HashKeys.hash("/obj/" + i)).isBetween(0L, 0xFFFF_FFFFL);
        }
    }

    @Test
    void hashingAllocatesNothingOnceWarm() {
        AsciiString key = AsciiString.of("/some/fairly/long/path/to/an/object?with=a&query=string");
        long[] sink = new long[1];
        Runnable hashMany = () -> {
            for (int i = 0; i < 20_000; i++) {
                sink[0] += HashKeys.hash(key);
            }
        };
        hashMany.run();

        assertThat(Allocations.bytesAllocatedBy(hashMany)).isLessThan(1024);
    }
}
