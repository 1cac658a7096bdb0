package io.portico.server.it;

import io.netty.handler.codec.http2.Http2Headers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How Portico shares its output among HTTP/2 streams that all have response bytes waiting: in turns
 * of at least {@code listeners[].http2.chunk_size} each, so that a response of that size leaves as
 * one DATA frame instead of being cut into slices interleaved with the other streams'.
 */
class Http2ChunkSizeTest {

    private static final int STREAMS = 16;
    private static final int SIZE = 16 * 1024;
    /** The connection window the client grants once every body waits in Portico: four responses' worth. */
    private static final int WINDOW = 4 * SIZE;
    private static final int SETTINGS_INITIAL_WINDOW_SIZE = 0x4;

    @Test
    void byDefaultEachWaitingResponseLeavesAsOneDataFrame() throws Exception {
        // Netty's own minimum (1 KiB) gave each of the 16 streams a 4 KiB slice of the 64 KiB.
        assertWholeTurns(firstDataFrames(""), SIZE);
    }

    @Test
    void withNginxsChunkSizeTheResponsesLeaveInSlicesOfThatSize() throws Exception {
        assertWholeTurns(firstDataFrames("    http2: {chunk_size: 8k}\n"), 8 * 1024);
    }

    /**
     * The window went out in turns of {@code chunk} bytes: all of them whole but the one that a few
     * bytes already queued (a SETTINGS acknowledgement, say) left short, and the short one's rest.
     */
    private static void assertWholeTurns(List<Integer> frames, int chunk) {
        int turns = WINDOW / chunk;
        assertThat(frames.stream().filter(n -> n == chunk).count()).as("whole turns in " + frames)
                .isGreaterThanOrEqualTo(turns - 1);
        assertThat(frames).as("DATA frames").hasSizeLessThanOrEqualTo(turns + 1);
    }

    /**
     * Opens {@link #STREAMS} streams with no flow-control window, so that every response's body
     * waits in Portico; once every response head has arrived, opens the stream windows and grants
     * the connection {@link #WINDOW} bytes. Returns the sizes of the DATA frames that window
     * carried.
     */
    private static List<Integer> firstDataFrames(String http2Section) throws Exception {
        // NIO, and the upstream connection on the client's event loop: an upstream response (head,
        // body and trailer came in one write) is read whole in the read loop that forwards its head,
        // before the client's next frame is read.
        try (TestOrigin origin = new TestOrigin("chunks");
             PorticoHarness portico = PorticoHarness.proxyTo(origin.port(), "", "transport: nio\n", http2Section);
             RawH2 h2 = new RawH2(portico.port(), RawH2.setting(SETTINGS_INITIAL_WINDOW_SIZE, 0))) {
            for (int i = 0; i < STREAMS; i++) {
                // /chunked/N: the head, N bytes and a trailer, in one write.
                h2.headers(1 + 2 * i, RawH2.get("/chunked/" + SIZE), true);
            }
            Set<Integer> heads = new HashSet<>();
            List<Integer> frames = new ArrayList<>();
            int received = 0;
            while (received < WINDOW) {
                RawH2.Frame f = h2.next();
                assertThat(f).as("a frame before the connection closed").isNotNull();
                if (f.type() == RawH2.HEADERS) {
                    Http2Headers headers = h2.headersOf(f);
                    if (!heads.add(f.stream())) {
                        continue; // a trailer
                    }
                    assertThat(headers.status().toString()).isEqualTo("200");
                    if (heads.size() == STREAMS) {
                        h2.frame(RawH2.SETTINGS, 0, 0, RawH2.setting(SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20));
                        // The connection window starts at 65,535 bytes.
                        h2.frame(RawH2.WINDOW_UPDATE, 0, 0, RawH2.int32(WINDOW - 65_535));
                    }
                } else if (f.type() == RawH2.DATA) {
                    assertThat(heads).as("no DATA before the windows open").hasSize(STREAMS);
                    frames.add(f.payload().length);
                    received += f.payload().length;
                } else {
                    assertThat(f.type()).as("frame type on stream " + f.stream())
                            .isIn(RawH2.SETTINGS, RawH2.WINDOW_UPDATE, RawH2.PING);
                }
            }
            return frames;
        }
    }
}
