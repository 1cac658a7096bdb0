package io.portico.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class Http1FramingScannerTest {

    private static final String VALID_PIPELINE = "\r\nGET /a?b=c HTTP/1.1\r\nHost: a\r\nX-Tab:\tv\r\n\r\n"
            + "POST /up HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\n\r\nhello"
            + "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
            + "5;ext=\"v\"\r\n12345\r\nA ; x\r\n0123456789\r\n000\r\nX-Trailer: t\r\n\r\n"
            + "OPTIONS * HTTP/1.0\r\n\r\n";

    @Test
    void acceptsAValidPipelineInOneBuffer() {
        Http1FramingScanner s = Http1FramingScanner.forRequests();
        assertThat(scan(s, VALID_PIPELINE)).isEqualTo(-1);
        assertThat(s.idle()).isTrue();
    }

    @Test
    void acceptsTheSamePipelineOneByteAtATime() {
        Http1FramingScanner s = Http1FramingScanner.forRequests();
        for (int i = 0; i < VALID_PIPELINE.length(); i++) {
            assertThat(scan(s, VALID_PIPELINE.substring(i, i + 1))).as("byte %d", i).isEqualTo(-1);
        }
        assertThat(s.idle()).isTrue();
    }

    @Test
    void bodyBytesAreNotMistakenForARequest() {
        Http1FramingScanner s = Http1FramingScanner.forRequests();
        assertThat(scan(s, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n \r\n GET\0 \r\n")).isEqualTo(-1);
        assertThat(s.idle()).isTrue();
    }

    static Stream<Arguments> ambiguous() {
        return Stream.of(
                arguments("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "obs_fold"),
                arguments("GET / HTTP/1.1\r\nA : b\r\n\r\n", "space_before_colon"),
                arguments("GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "content_length_with_transfer_encoding"),
                arguments("GET / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "transfer_encoding_not_chunked"),
                arguments("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "transfer_encoding_in_http10"),
                arguments("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", "repeated_content_length"),
                arguments("GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "bad_content_length"),
                arguments("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX", "bad_chunk_end"),
                arguments("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n12345678901234567\r\n", "bad_chunk_size"),
                arguments("GET  / HTTP/1.1\r\n\r\n", "bad_request_line"),
                arguments("GET / HTTP/1.1 \r\n\r\n", "bad_version"),
                // Field names the decoder behind no longer checks itself: empty, a separator, obs-text,
                // and the same in a trailer section.
                arguments("GET / HTTP/1.1\r\n: b\r\n\r\n", "bad_header_name"),
                arguments("GET / HTTP/1.1\r\nX(y): b\r\n\r\n", "bad_header_name"),
                arguments("GET / HTTP/1.1\r\nX\u00e9: b\r\n\r\n", "bad_header_name"),
                arguments("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX@y: b\r\n\r\n", "bad_header_name"));
    }

    @ParameterizedTest
    @MethodSource("ambiguous")
    void refusesAmbiguousFraming(String request, String reason) {
        Http1FramingScanner s = Http1FramingScanner.forRequests();
        assertThat(scan(s, request)).isGreaterThanOrEqualTo(0);
        assertThat(s.error()).isEqualTo(reason);
    }

    /** Targets and field values are skipped by a fast loop; a bad byte inside one is still found, wherever the reads split. */
    @ParameterizedTest
    @MethodSource("badBytesInsideLongRuns")
    void findsABadByteInsideALongTargetOrValueAtEverySplit(String head, String reason) {
        for (int split = 1; split <= head.length(); split++) {
            Http1FramingScanner s = Http1FramingScanner.forRequests();
            int failedAt = -1;
            for (int i = 0; i < head.length() && failedAt < 0; i += split) {
                int r = scan(s, head.substring(i, Math.min(head.length(), i + split)));
                if (r >= 0) {
                    failedAt = i + r;
                }
            }
            assertThat(failedAt).as("split %d", split).isEqualTo(head.indexOf('\u0001') >= 0
                    ? head.indexOf('\u0001') : head.indexOf('\u00e9'));
            assertThat(s.error()).as("split %d", split).isEqualTo(reason);
        }
    }

    static Stream<Arguments> badBytesInsideLongRuns() {
        String pad = "x".repeat(40);
        return Stream.of(
                arguments("GET /" + pad + "\u0001" + pad + " HTTP/1.1\r\n\r\n", "bad_request_target"),
                arguments("GET /" + pad + "\u00e9 HTTP/1.1\r\n\r\n", "bad_request_target"),
                arguments("GET / HTTP/1.1\r\nUser-Agent: " + pad + "\u0001" + pad + "\r\n\r\n", "control_character_in_header"),
                arguments("GET / HTTP/1.1\r\nX-A: " + pad + "\u00e9\r\n\r\n", "control_character_in_header"));
    }

    @Test
    void longTargetsAndValuesPassAtEverySplit() {
        String head = "GET /" + "a".repeat(100) + "?q=" + "b".repeat(50) + " HTTP/1.1\r\nHost: a\r\n"
                + "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\t" + "c".repeat(80) + "\r\nContent-Length: 2\r\n\r\nok";
        for (int split = 1; split <= head.length(); split++) {
            Http1FramingScanner s = Http1FramingScanner.forRequests();
            for (int i = 0; i < head.length(); i += split) {
                assertThat(scan(s, head.substring(i, Math.min(head.length(), i + split)))).as("split %d at %d", split, i).isEqualTo(-1);
            }
            assertThat(s.idle()).as("split %d", split).isTrue();
        }
    }

    /**
     * A scan walks a buffer in windows of 512 bytes: a head read in one buffer with its target,
     * field names, values, length and the body after it across the windows' edges frames as it
     * does byte by byte, and a bad byte is found at its index, in direct and heap buffers alike.
     */
    @Test
    void aLongHeadInOneBufferIsCheckedAcrossTheScansWindows() {
        for (boolean direct : new boolean[] {true, false}) {
            for (int shift = 0; shift < 48; shift++) {
                String head = "GET /" + "t".repeat(400 + shift) + " HTTP/1.1\r\nX-Pad: " + "v".repeat(470 - shift)
                        + "\r\nContent-Length: 5\r\n\r\nhello";
                String next = "POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
                Http1FramingScanner s = Http1FramingScanner.forRequests();
                assertThat(scan(s, head + next + head, direct)).as("shift %d", shift).isEqualTo(-1);
                assertThat(s.idle()).as("shift %d", shift).isTrue();

                Http1FramingScanner twice = Http1FramingScanner.forRequests();
                String smuggled = head.replace("\r\n\r\nhello", "\r\ncontent-LENGTH: 5\r\n\r\nhello");
                assertThat(scan(twice, next + smuggled, direct)).as("shift %d", shift).isEqualTo(next.length() + smuggled.indexOf("LENGTH: 5") + 6);
                assertThat(twice.error()).isEqualTo("repeated_content_length");

                Http1FramingScanner control = Http1FramingScanner.forRequests();
                int at = head.indexOf("X-Pad: ") + 7 + (470 - shift) * shift / 48;
                String bad = head.substring(0, at) + "\u0001" + head.substring(at + 1);
                assertThat(scan(control, next + bad, direct)).as("shift %d", shift).isEqualTo(next.length() + at);
                assertThat(control.error()).isEqualTo("control_character_in_header");
            }
        }
    }

    @Test
    void aResponseNobodyAskedForIsRefusedWhereItBegins() {
        String one = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
        Http1FramingScanner s = Http1FramingScanner.forResponses();
        s.requestSent(false);
        // The interim 100 answers nothing by itself; the 200 answers the one request.
        assertThat(scan(s, one + "HTTP/1.1 200 OK\r\n")).isEqualTo(one.length());
        assertThat(s.error()).isEqualTo("unsolicited_response");
        assertThat(s.failedBetweenMessages()).isTrue();
        Http1FramingScanner idle = Http1FramingScanner.forResponses();
        assertThat(scan(idle, "HTTP/1.1 408 Request Timeout\r\n\r\n")).isZero();
        Http1FramingScanner two = Http1FramingScanner.forResponses();
        two.requestSent(false);
        two.requestSent(false);
        assertThat(scan(two, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"))
                .isEqualTo(-1);
    }

    @Test
    void aResponseCodedOnTopOfChunkedIsRefusedWhereARequestMayBeAnsweredLater() {
        // Passed on de-chunked, a gzip-coded body would reach the client as plain bytes of its type.
        Http1FramingScanner coded = Http1FramingScanner.forResponses();
        coded.requestSent(false);
        assertThat(scan(coded, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")).isPositive();
        assertThat(coded.error()).isEqualTo("transfer_encoding_not_only_chunked");
        Http1FramingScanner plain = Http1FramingScanner.forResponses();
        plain.requestSent(false);
        assertThat(scan(plain, "HTTP/1.1 200 OK\r\nTransfer-Encoding:  Chunked \r\n\r\n0\r\n\r\n")).isEqualTo(-1);
        // A request's codings are the handler's to answer (501), not a framing fault.
        Http1FramingScanner request = Http1FramingScanner.forRequests();
        assertThat(scan(request, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"))
                .isEqualTo(-1);
    }

    @Test
    void obsTextIsAllowedInAResponsesReasonAndValuesButNotInARequestsValues() {
        Http1FramingScanner response = Http1FramingScanner.forResponses();
        response.requestSent(false);
        assertThat(scan(response, "HTTP/1.1 200 D\u00e9j\u00e0\r\nX-Name: r\u00e9sum\u00e9\r\nContent-Length: 0\r\n\r\n"))
                .isEqualTo(-1);
        Http1FramingScanner broken = Http1FramingScanner.forResponses();
        broken.requestSent(false);
        assertThat(scan(broken, "HTTP/1.1 200 OK\r\nX-Name: a\u0001b\r\n")).isPositive();
        assertThat(broken.failedBetweenMessages()).isFalse();
        Http1FramingScanner request = Http1FramingScanner.forRequests();
        assertThat(scan(request, "GET / HTTP/1.1\r\nX-Name: r\u00e9sum\u00e9\r\n")).isPositive();
    }

    private static int scan(Http1FramingScanner s, String text) {
        return scan(s, text, false);
    }

    private static int scan(Http1FramingScanner s, String text, boolean direct) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuf buf = direct ? Unpooled.directBuffer(bytes.length).writeBytes(bytes) : Unpooled.wrappedBuffer(bytes);
        try {
            int r = s.scan(buf);
            return r < 0 ? -1 : r;
        } finally {
            buf.release();
        }
    }
}
