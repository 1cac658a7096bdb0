package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A response ends its stream with END_STREAM and nothing after it: no RST_STREAM follows on the
 * closed stream (RFC 9113 section 5.1 lets a client take a frame on a closed stream for a
 * connection error), whether Portico answered itself, proxied the answer or failed upstream.
 * Three streams in a row on one connection, each checked over two PING round trips after its end.
 */
class Http2EndStreamTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("end-stream");
        int dead = BackendFaultsTest.unusedPort();
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                  dead:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    routes:
                      - {match: {prefix: /empty}, respond: {status: 204}}
                      - {match: {prefix: /local}, respond: {status: 200, body: ok}}
                      - {match: {prefix: /dead}, upstream: dead}
                      - {match: {prefix: /}, upstream: origin}
                """.formatted(origin.port(), dead), "");
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    private static void endsWithoutReset(String path, String status) throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            for (int stream = 1; stream <= 5; stream += 2) {
                h2.headers(stream, RawH2.get(path), true);
                RawH2.Response r = h2.response(stream);
                assertThat(r.status()).isEqualTo(status);
                assertThat(r.resetCode()).isNull();
                // Two round trips: whatever was written as the stream closed has arrived by then.
                List<RawH2.Frame> after = h2.pingRoundTrip();
                after.addAll(h2.pingRoundTrip());
                assertThat(after).as("frames after the END_STREAM of stream %d on %s", stream, path)
                        .noneMatch(f -> f.type() == RawH2.RST_STREAM);
            }
        }
    }

    @Test
    void aLocalAnswerWithABody() throws Exception {
        endsWithoutReset("/local", "200");
    }

    @Test
    void aLocalAnswerWithoutABody() throws Exception {
        endsWithoutReset("/empty", "204");
    }

    @Test
    void aProxiedAnswer() throws Exception {
        endsWithoutReset("/hello", "200");
    }

    @Test
    void aProxiedChunkedAnswer() throws Exception {
        endsWithoutReset("/chunked/3", "200");
    }

    @Test
    void aBadGatewayAnswer() throws Exception {
        endsWithoutReset("/dead", "502");
    }

    /**
     * DATA after a request's END_STREAM, read together with it: Portico resets the stream with
     * STREAM_CLOSED (RFC 9113 section 5.1, half-closed (remote)) and sends nothing after that on it,
     * whether the answer was its own or came from the origin.
     */
    @Test
    void dataAfterTheRequestEndedResetsTheStreamAndNothingFollowsTheReset() throws Exception {
        for (String path : List.of("/local", "/empty", "/hello")) {
            try (RawH2 h2 = new RawH2(portico.port())) {
                h2.inOneWrite(() -> {
                    h2.headers(1, RawH2.get(path), true);
                    h2.data(1, new byte[] {'x'}, false);
                });
                List<RawH2.Frame> frames = h2.pingRoundTrip();
                frames.addAll(h2.pingRoundTrip());
                List<RawH2.Frame> onStream = frames.stream().filter(f -> f.stream() == 1).toList();
                int reset = -1;
                for (int i = 0; i < onStream.size(); i++) {
                    if (onStream.get(i).type() == RawH2.RST_STREAM) {
                        reset = i;
                        break;
                    }
                }
                assertThat(reset).as("a RST_STREAM on stream 1 for %s: %s", path, onStream).isNotNegative();
                assertThat(onStream.get(reset).errorCode()).as("STREAM_CLOSED").isEqualTo(5);
                assertThat(onStream.subList(reset + 1, onStream.size()))
                        .as("frames after the RST_STREAM on %s", path).isEmpty();
                // The connection goes on.
                h2.headers(3, RawH2.get("/local"), true);
                assertThat(h2.response(3).status()).isEqualTo("200");
            }
        }
    }
}
