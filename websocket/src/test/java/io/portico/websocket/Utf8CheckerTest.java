package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Utf8CheckerTest {

    private final Utf8Checker checker = new Utf8Checker();

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"", "61", "c3b6", "e282ac", "f09f9880", "f48fbfbf", "efbbbf", "ed9fbf", "ee8080"})
    void acceptsWellFormedSequences(String hex) {
        assertThat(valid(hex)).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"80", "c0af", "c1bf", "e08080", "eda080", "edbfbf", "f08f8080", "f4908080", "f5808080",
            "ff", "c328", "e282", "f09f98"})
    void rejectsOverlongsSurrogatesOutOfRangeAndTruncatedSequences(String hex) {
        assertThat(valid(hex)).isFalse();
    }

    @Test
    void checksACharacterSplitAcrossFragments() {
        checker.reset();
        assertThat(checker.update(buf("f09f"))).isTrue();
        assertThat(checker.isComplete()).isFalse();
        assertThat(checker.update(buf("98"))).isTrue();
        assertThat(checker.update(buf("80"))).isTrue();
        assertThat(checker.isComplete()).isTrue();
    }

    @Test
    void failsAsSoonAsAFragmentCannotContinueTheSequence() {
        checker.reset();
        assertThat(checker.update(buf("e282"))).isTrue();
        assertThat(checker.update(buf("28"))).isFalse();
        assertThat(checker.update(buf("41"))).isFalse();
    }

    @Test
    void agreesWithTheJdkDecoderOnRandomInput() {
        Random random = new Random(3629);
        for (int i = 0; i < 20_000; i++) {
            byte[] bytes = new byte[random.nextInt(8)];
            for (int j = 0; j < bytes.length; j++) {
                // Mostly high bytes, where the interesting cases are.
                bytes[j] = (byte) (random.nextInt(4) == 0 ? random.nextInt(0x80) : 0x80 + random.nextInt(0x80));
            }
            ByteBuf buf = Unpooled.wrappedBuffer(bytes);
            assertThat(checker.isValid(buf)).as(HexFormat.of().formatHex(bytes)).isEqualTo(jdkValid(bytes));
        }
    }

    /**
     * The check through a masking key (what the relay does with a client's frame, without
     * unmasking it) agrees with the JDK on the unmasked bytes, whatever the key, the length, where
     * the payload starts in the buffer and how it is cut into fragments.
     */
    @Test
    void checksMaskedBytesAsTheJdkChecksThemUnmasked() {
        Random random = new Random(6455);
        for (int i = 0; i < 20_000; i++) {
            byte[] plain = new byte[random.nextInt(24)];
            for (int j = 0; j < plain.length; j++) {
                int kind = random.nextInt(4);
                plain[j] = (byte) (kind == 0 ? 0x80 + random.nextInt(0x80) : kind == 1 ? 0xC2 + random.nextInt(0x30)
                        : random.nextInt(0x80));
            }
            int mask = random.nextBoolean() ? random.nextInt() : 0;
            int offset = random.nextInt(5);
            byte[] wire = new byte[offset + plain.length];
            for (int j = 0; j < plain.length; j++) {
                wire[offset + j] = (byte) (plain[j] ^ (mask >>> (24 - 8 * (j & 3))));
            }
            ByteBuf buf = Unpooled.wrappedBuffer(wire);
            // Fragments restart the key at their own first byte, as each frame has its own key.
            int cut = plain.length == 0 ? 0 : random.nextInt(plain.length + 1);
            byte[] second = new byte[plain.length - cut];
            for (int j = 0; j < second.length; j++) {
                second[j] = (byte) (plain[cut + j] ^ (mask >>> (24 - 8 * (j & 3))));
            }
            checker.reset();
            boolean ok = checker.update(buf, offset, cut, mask)
                    && checker.update(Unpooled.wrappedBuffer(second), 0, second.length, mask)
                    && checker.isComplete();
            assertThat(ok).as(HexFormat.of().formatHex(plain) + " mask " + Integer.toHexString(mask) + " cut " + cut)
                    .isEqualTo(jdkValid(plain));
        }
    }

    private boolean valid(String hex) {
        return checker.isValid(buf(hex));
    }

    private static ByteBuf buf(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
    }

    private static boolean jdkValid(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
