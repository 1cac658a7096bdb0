package io.portico.websocket;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.stream.Stream;

import static io.portico.websocket.WireFrames.BINARY;
import static io.portico.websocket.WireFrames.CLOSE;
import static io.portico.websocket.WireFrames.CONTINUATION;
import static io.portico.websocket.WireFrames.FIN;
import static io.portico.websocket.WireFrames.PING;
import static io.portico.websocket.WireFrames.RSV1;
import static io.portico.websocket.WireFrames.RSV2;
import static io.portico.websocket.WireFrames.TEXT;
import static io.portico.websocket.WireFrames.bytes;
import static io.portico.websocket.WireFrames.closeBody;
import static io.portico.websocket.WireFrames.concat;
import static io.portico.websocket.WireFrames.frame;
import static io.portico.websocket.WireFrames.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Each protocol violation closes the offender with its code, the other side with 1001 or 1011, and both connections. */
class FrameViolationTest {

    private static final RelayLimits DEFAULTS = RelayLimits.defaults();
    private static final RelayLimits SMALL =
            new RelayLimits(1024, 1500, true, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10));

    record Violation(String name, boolean fromClient, boolean deflate, RelayLimits limits, byte[] wire, int code) {
        @Override
        public String toString() {
            return name;
        }
    }

    private FramePair pair;

    @AfterEach
    void tearDown() {
        if (pair != null) {
            pair.close();
        }
    }

    static Stream<Violation> violations() {
        return Stream.of(
                client("unmasked client frame", frame(FIN | TEXT, utf8("hi"), false), 1002),
                new Violation("masked upstream frame", false, false, DEFAULTS, frame(FIN | TEXT, utf8("hi"), true), 1002),
                client("reserved data opcode", c(FIN | 0x3, utf8("x")), 1002),
                client("reserved control opcode", c(FIN | 0xB, utf8("x")), 1002),
                client("RSV1 without deflate", c(FIN | RSV1 | TEXT, utf8("x")), 1002),
                deflate("RSV2 with deflate", c(FIN | RSV2 | BINARY, utf8("x")), 1002),
                deflate("RSV1 on a continuation with deflate",
                        concat(c(RSV1 | BINARY, utf8("a")), c(FIN | RSV1 | CONTINUATION, utf8("b"))), 1002),
                deflate("RSV1 on a ping with deflate", c(FIN | RSV1 | PING, utf8("p")), 1002),
                client("control frame over 125 bytes", c(FIN | PING, new byte[126]), 1002),
                // FIN|BINARY, masked, 16-bit length 5: five bytes must use the 7-bit form.
                client("16-bit length not in its shortest form",
                        concat(bytes(0x82, 0x80 | 126, 0, 5, 1, 2, 3, 4), new byte[5]), 1002),
                client("64-bit length not in its shortest form",
                        concat(bytes(0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4), new byte[5]), 1002),
                client("64-bit length with the most significant bit set",
                        bytes(0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4), 1002),
                client("fragmented control frame", c(PING, utf8("p")), 1002),
                client("continuation without a start", c(FIN | CONTINUATION, utf8("x")), 1002),
                client("new message inside a fragmented one", concat(c(TEXT, utf8("a")), c(FIN | TEXT, utf8("b"))), 1002),
                client("invalid UTF-8 in a text frame", c(FIN | TEXT, bytes(0xc3, 0x28)), 1007),
                client("invalid UTF-8 across fragments",
                        concat(c(TEXT, bytes(0xe2, 0x82)), c(FIN | CONTINUATION, bytes(0x28))), 1007),
                client("UTF-8 cut off at the end of the message", c(FIN | TEXT, bytes(0xe2, 0x82)), 1007),
                client("invalid UTF-8 in a close reason", c(FIN | CLOSE, closeBody(1000, bytes(0xc3, 0x28))), 1007),
                client("close code 999", c(FIN | CLOSE, closeBody(999, new byte[0])), 1002),
                client("close code 1005", c(FIN | CLOSE, closeBody(1005, new byte[0])), 1002),
                client("close code 5000", c(FIN | CLOSE, closeBody(5000, new byte[0])), 1002),
                client("one-byte close body", c(FIN | CLOSE, bytes(0x03)), 1002),
                new Violation("frame over maxFrameSize", true, false, SMALL, c(FIN | BINARY, new byte[1025]), 1009),
                new Violation("message over maxMessageSize", true, false, SMALL,
                        concat(c(BINARY, new byte[1000]), c(FIN | CONTINUATION, new byte[1000])), 1009),
                new Violation("invalid UTF-8 from the upstream", false, false, DEFAULTS,
                        u(FIN | TEXT, bytes(0xc3, 0x28)), 1007),
                new Violation("upstream frame over maxFrameSize", false, false, SMALL,
                        u(FIN | BINARY, new byte[1025]), 1009),
                new Violation("fragmented control frame from the upstream", false, false, DEFAULTS,
                        u(PING, utf8("p")), 1002));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("violations")
    void closesTheOffenderWithTheViolationsCodeAndTheOtherSideToo(Violation violation) throws Exception {
        pair = new FramePair(violation.limits(), violation.deflate());
        FramePeer offender = violation.fromClient() ? pair.client : pair.upstream;
        FramePeer other = violation.fromClient() ? pair.upstream : pair.client;

        offender.sendRaw(violation.wire());

        assertThat(offender.awaitCloseCode()).as("close code to the offender").isEqualTo(violation.code());
        assertThat(other.awaitCloseCode()).as("close code to the other side")
                .isEqualTo(violation.fromClient() ? 1001 : 1011);
        offender.awaitClosed();
        other.awaitClosed();
        await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
        assertThat(pair.harness.onCloseRuns).hasValue(1);
    }

    private static Violation client(String name, byte[] wire, int code) {
        return new Violation(name, true, false, DEFAULTS, wire, code);
    }

    private static Violation deflate(String name, byte[] wire, int code) {
        return new Violation(name, true, true, DEFAULTS, wire, code);
    }

    /** A frame as a client sends it: masked. */
    private static byte[] c(int firstByte, byte[] payload) {
        return frame(firstByte, payload, true);
    }

    /** A frame as an upstream sends it: unmasked. */
    private static byte[] u(int firstByte, byte[] payload) {
        return frame(firstByte, payload, false);
    }
}
