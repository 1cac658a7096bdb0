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
