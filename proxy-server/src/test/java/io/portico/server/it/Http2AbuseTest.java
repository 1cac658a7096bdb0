package io.portico.server.it;

import io.netty.handler.codec.http2.Http2Headers;
import io.portico.server.http2.Http2Counters;
import io.portico.server.http2.Http2Counters.Reason;
import io.portico.server.admin.AdminClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Each HTTP/2 abuse pattern ends its connection with GOAWAY and is counted, while a well-behaved
 * connection opened before it on the same listener keeps being served.
 */
class Http2AbuseTest {

    static final int PROTOCOL_ERROR = 0x1;
    static final int CANCEL = 0x8;
    static final int ENHANCE_YOUR_CALM = 0xb;

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("abuse");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    max_body_size: 0
                    routes: [{match: {prefix: /}, upstream: origin}]
                  - names: [small.test]
                    max_body_size: 1k
                    routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(origin.port()), """
                    http2:
                      max_resets: 10
                      max_server_resets: 5
                      reset_window: 30s
                      max_continuation_frames: 8
                      max_empty_data_frames: 5
                      max_control_frames_per_second: 50
                      max_header_list_size: 4k
                      stream_idle_timeout: 1s
                """);
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    static Http2Counters counters() {
        return portico.server().http2Counters("http");
    }

    /** Runs {@code abuse} on a fresh connection, expects GOAWAY with {@code code}, and checks a bystander still works. */
    void endsWithGoAway(Reason reason, int code, Abuse abuse) throws Exception {
        long before = counters().get(reason);
        try (RawH2 bystander = new RawH2(portico.port()); RawH2 attacker = new RawH2(portico.port())) {
            bystander.headers(1, RawH2.get("/hello"), true);
            assertThat(bystander.response(1).status()).isEqualTo("200");

            abuse.run(attacker);
            RawH2.Frame goAway = attacker.awaitGoAway();
            assertThat(goAway.errorCode()).isEqualTo(code);
            await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(reason) == before + 1);
            // The same counter, as operators see it on the admin listener.
            assertThat(new AdminClient(portico.server().adminAddress(), null).scrape()
                    .sum("portico_http2_events_total", "listener=http", "event=" + reason.key()))
                    .isEqualTo((double) (before + 1));

            bystander.headers(3, RawH2.get("/hello"), true);
            RawH2.Response after = bystander.response(3);
            assertThat(after.status()).isEqualTo("200");
            assertThat(after.text()).isEqualTo("hello from abuse");
        }
    }

    interface Abuse {
        void run(RawH2 h2) throws Exception;
    }

    @Test
    void rapidResetEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.RAPID_RESET, ENHANCE_YOUR_CALM, h2 -> {
            for (int i = 0; i < 20; i++) {
                int stream = 1 + 2 * i;
                h2.headers(stream, RawH2.get("/hello"), true);
                h2.rst(stream, CANCEL);
            }
        });
    }

    @Test
    void provokingServerResetsEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.SERVER_RESETS, ENHANCE_YOUR_CALM, h2 -> {
            for (int i = 0; i < 10; i++) {
                // A connection-specific field: each such request is reset with PROTOCOL_ERROR.
                h2.headers(1 + 2 * i, RawH2.get("/hello").add("connection", "close"), true);
            }
        });
    }

    /**
     * An upload answered before its body ends (here 413) is followed by RST_STREAM NO_ERROR, which
     * only asks the client to stop sending: it is Portico's own doing, not a reset the client
     * provoked, and many of them must not end the connection as max_server_resets does.
     */
    @Test
    void earlyAnswersToUploadsAreNotCountedAsProvokedResets() throws Exception {
        long before = counters().get(Reason.SERVER_RESETS);
        try (RawH2 h2 = new RawH2(portico.port())) {
            for (int i = 0; i < 12; i++) {
                int stream = 1 + 2 * i;
                h2.headers(stream, RawH2.request("POST", "/upload").authority("small.test")
                        .add("content-length", "5000"), false);
                RawH2.Response r = h2.response(stream);
                assertThat(r.status()).as("stream " + stream).isEqualTo("413");
            }
            h2.headers(25, RawH2.get("/hello"), true);
            assertThat(h2.response(25).text()).isEqualTo("hello from abuse");
        }
        assertThat(counters().get(Reason.SERVER_RESETS)).isEqualTo(before);
    }

    @Test
    void aContinuationFloodEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.CONTINUATION_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            h2.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, h2.block(RawH2.get("/hello")));
            for (int i = 0; i < 50; i++) {
                h2.frame(RawH2.CONTINUATION, 0, 1, new byte[0]);
            }
        });
    }

    /**
     * CONTINUATION frames of 1 KiB: too few for Netty's count of small ones (max_continuation_frames)
     * before their bytes cross the hard limit on a header block (1.25 × max_header_list_size, 5 KiB
     * here). Still a CONTINUATION flood, not a header list too large.
     */
    @Test
    void aContinuationFloodStoppedByItsBytesIsStillAContinuationFlood() throws Exception {
        long tooLarge = counters().get(Reason.HEADER_LIST_TOO_LARGE);
        endsWithGoAway(Reason.CONTINUATION_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            h2.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, h2.block(RawH2.get("/hello")));
            for (int i = 0; i < 7; i++) {
                h2.frame(RawH2.CONTINUATION, 0, 1, new byte[1024]);
            }
        });
        assertThat(counters().get(Reason.HEADER_LIST_TOO_LARGE)).isEqualTo(tooLarge);
    }

    /** One CONTINUATION frame over 8 KiB, which Netty's count of small frames leaves alone. */
    @Test
    void aLargeContinuationFrameThatCarriesTheBlockPastTheHardLimitIsAContinuationFlood() throws Exception {
        long tooLarge = counters().get(Reason.HEADER_LIST_TOO_LARGE);
        endsWithGoAway(Reason.CONTINUATION_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            h2.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, h2.block(RawH2.get("/hello")));
            h2.frame(RawH2.CONTINUATION, 0, 1, new byte[9000]);
        });
        assertThat(counters().get(Reason.HEADER_LIST_TOO_LARGE)).isEqualTo(tooLarge);
    }

    /** A single HEADERS frame over the hard limit is an oversized header list, not a flood. */
    @Test
    void oneHeadersFrameOverTheHardLimitIsAHeaderListTooLarge() throws Exception {
        long floods = counters().get(Reason.CONTINUATION_FLOOD);
        endsWithGoAway(Reason.HEADER_LIST_TOO_LARGE, PROTOCOL_ERROR,
                h2 -> h2.frame(RawH2.HEADERS, RawH2.END_STREAM | RawH2.END_HEADERS, 1, new byte[6000]));
        assertThat(counters().get(Reason.CONTINUATION_FLOOD)).isEqualTo(floods);
    }

    /**
     * A header list over max_header_list_size but under the hard limit, sent as HEADERS and
     * CONTINUATION as a client may: its stream gets 431, and the connection GOAWAY as a header list
     * too large (the client ignored Portico's SETTINGS), not as a CONTINUATION flood.
     */
    @Test
    void aHeaderListOverTheLimitInHeadersAndContinuationGets431() throws Exception {
        long floods = counters().get(Reason.CONTINUATION_FLOOD);
        long before = counters().get(Reason.HEADER_LIST_TOO_LARGE);
        try (RawH2 h2 = new RawH2(portico.port())) {
            Http2Headers big = RawH2.get("/hello");
            for (int i = 0; i < 5; i++) {
                big.add("x-big-" + i, "v".repeat(900));
            }
            byte[] block = h2.block(big);
            assertThat(block.length).isLessThan(5 * 1024);
            int half = block.length / 2;
            h2.frame(RawH2.HEADERS, RawH2.END_STREAM, 1, java.util.Arrays.copyOfRange(block, 0, half));
            h2.frame(RawH2.CONTINUATION, RawH2.END_HEADERS, 1, java.util.Arrays.copyOfRange(block, half, block.length));
            assertThat(h2.response(1).status()).isEqualTo("431");
            assertThat(h2.awaitGoAway().errorCode()).isEqualTo(ENHANCE_YOUR_CALM);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> counters().get(Reason.HEADER_LIST_TOO_LARGE) == before + 1);
        assertThat(counters().get(Reason.CONTINUATION_FLOOD)).isEqualTo(floods);
    }

    @Test
    void anHpackBombEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.HEADER_LIST_TOO_LARGE, ENHANCE_YOUR_CALM, h2 -> {
            // One 1000-byte field enters the dynamic table once; each repeat is a one-byte reference,
            // so some 1 KB on the wire decodes to 20 KB, far over 1.25 x max_header_list_size.
            Http2Headers bomb = RawH2.get("/hello");
            String big = "x".repeat(1000);
            for (int i = 0; i < 20; i++) {
                bomb.add("x-bomb", big);
            }
            byte[] block = h2.block(bomb);
            assertThat(block.length).isLessThan(1200);
            h2.frame(RawH2.HEADERS, RawH2.END_STREAM | RawH2.END_HEADERS, 1, block);
        });
    }

    @Test
    void aSettingsFloodEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.SETTINGS_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            for (int i = 0; i < 200; i++) {
                h2.frame(RawH2.SETTINGS, 0, 0, new byte[0]);
            }
        });
    }

    @Test
    void aPingFloodEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.PING_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            for (int i = 0; i < 200; i++) {
                h2.frame(RawH2.PING, 0, 0, new byte[8]);
            }
        });
    }

    @Test
    void aPriorityFloodEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.PRIORITY_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            for (int i = 0; i < 200; i++) {
                h2.frame(RawH2.PRIORITY, 0, 3 + 2 * i, new byte[] {0, 0, 0, 0, 16});
            }
        });
    }

    @Test
    void aWindowUpdateFloodEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.WINDOW_UPDATE_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            for (int i = 0; i < 200; i++) {
                h2.frame(RawH2.WINDOW_UPDATE, 0, 0, RawH2.int32(1));
            }
        });
    }

    @Test
    void anEmptyDataFloodEndsTheConnection() throws Exception {
        endsWithGoAway(Reason.EMPTY_DATA_FLOOD, ENHANCE_YOUR_CALM, h2 -> {
            h2.headers(1, RawH2.request("POST", "/upload"), false);
            for (int i = 0; i < 20; i++) {
                h2.data(1, new byte[0], false);
            }
        });
    }

    @Test
    void aStreamStuckAtAZeroWindowIsResetAfterTheStreamIdleTimeout() throws Exception {
        long before = counters().get(Reason.STREAM_IDLE_TIMEOUT);
        try (RawH2 h2 = new RawH2(portico.port(), RawH2.setting(0x4, 0))) {
            h2.headers(1, RawH2.get("/download/100000"), true);
            RawH2.Response r = h2.response(1);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.body()).isEmpty();
            assertThat(r.resetCode()).isEqualTo(CANCEL);
            assertThat(counters().get(Reason.STREAM_IDLE_TIMEOUT)).isEqualTo(before + 1);

            // The connection itself is fine: a small answer still fits... once the window opens.
            h2.frame(RawH2.SETTINGS, 0, 0, RawH2.setting(0x4, 65535));
            h2.headers(3, RawH2.get("/hello"), true);
            assertThat(h2.response(3).text()).isEqualTo("hello from abuse");
        }
    }

    /**
     * Frames of an unknown type are ignored (RFC 9113 section 5.5), and that includes the stream's
     * idle clock: a client sending them on a stream stuck at a zero window does not keep it open.
     */
    @Test
    void framesOfUnknownTypesDoNotKeepAStuckStreamFromItsIdleTimeout() throws Exception {
        long before = counters().get(Reason.STREAM_IDLE_TIMEOUT);
        try (RawH2 h2 = new RawH2(portico.port(), RawH2.setting(0x4, 0))) {
            h2.headers(1, RawH2.get("/download/100000"), true);
            int[] reset = {-1};
            // An unknown frame every 200 ms (five per stream_idle_timeout), each seen by Portico
            // once the PING behind it is answered, until the stream is reset.
            await().pollInterval(Duration.ofMillis(200)).atMost(Duration.ofSeconds(8)).until(() -> {
                h2.frame(0x21, 0, 1, new byte[] {1, 2, 3});
                for (RawH2.Frame f : h2.pingRoundTrip()) {
                    if (f.type() == RawH2.RST_STREAM && f.stream() == 1) {
                        reset[0] = f.errorCode();
                    }
                }
                return reset[0] >= 0;
            });
            assertThat(reset[0]).isEqualTo(CANCEL);
            assertThat(counters().get(Reason.STREAM_IDLE_TIMEOUT)).isEqualTo(before + 1);
        }
    }
}
