package io.portico.websocket;

import io.netty.channel.Channel;
import io.portico.websocket.WireFrames.Parsed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static io.portico.websocket.WireFrames.BINARY;
import static io.portico.websocket.WireFrames.CLOSE;
import static io.portico.websocket.WireFrames.CONTINUATION;
import static io.portico.websocket.WireFrames.FIN;
import static io.portico.websocket.WireFrames.PING;
import static io.portico.websocket.WireFrames.TEXT;
import static io.portico.websocket.WireFrames.frame;
import static io.portico.websocket.WireFrames.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Data frames over 64 KiB are relayed as their bytes come, checked piece by piece: the peer sees
 * a frame's first bytes before its sender has sent the last ones, the relay holds about a read's
 * worth instead of the frame, and whatever Portico has to say to a side inside such a frame (a
 * close, a ping) waits for its end, or, when the frame can never end, is not said at all.
 *
 * <p>The receiving ends here speak raw bytes (a {@link BytePeer} that keeps them, parsed with
 * {@link WireFrames#parse}), so that a test sees a frame arrive in part, which a frame decoder
 * would hide until the frame was whole.
 */
class FrameStreamingTest {

    private static final Duration POLL = Duration.ofMillis(5);

    private RelayHarness harness;

    @AfterEach
    void tearDown() {
        if (harness != null) {
            harness.close();
        }
    }

    /*
     * Client to upstream, so the frame is masked and relayed still masked; binary, so no UTF-8
     * check walks its 8 MiB through the paranoid leak detector. Frames up to 16 MiB, as the
     * server's default max_frame_size allows.
     */
    @Test
    void relaysALargeFrameAsItsBytesComeWithoutHoldingIt() throws Exception {
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        start(new RelayLimits(16 << 20, 16 << 20, true, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(10)),
                client, upstream);
        byte[] payload = new byte[8 << 20];
        new Random(6455).nextBytes(payload);
        byte[] wire = frame(FIN | BINARY, payload, true);

        sendInLockStep(client, upstream, wire, 256 << 10);

        assertThat(upstream.bytes()).as("the frame as the client sent it, mask and all").isEqualTo(wire);
        assertThat(client.received).as("nothing but the frame was said").hasValue(0);
        assertThat(harness.allocator.largest()).as("largest buffer the relay allocated").isLessThan(1 << 20);
        assertThat(harness.peakPending.get()).as("bytes ever queued on one connection").isLessThan(1 << 20);
    }

    /*
     * Multi-byte characters cut at piece boundaries that fall at every phase of the masking key:
     * a piece checked with the key out of phase would see invalid UTF-8 and close with 1007.
     */
    @Test
    void checksUtf8ThroughTheMaskPieceByPieceAtAnyOffset() throws Exception {
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        start(RelayLimits.defaults(), client, upstream);
        byte[] text = "aö€𝄞 ".repeat(20_000).getBytes(StandardCharsets.UTF_8);
        byte[] wire = frame(FIN | TEXT, text, true);

        // 14 header bytes, then pieces of 40,001: the payload offsets of the pieces run through 3, 2, 1, 0 mod 4.
        sendInLockStep(client, upstream, wire, 40_001);

        List<Parsed> frames = parse(upstream.bytes());
        assertThat(frames).hasSize(1);
        assertThat(frames.get(0).complete()).isTrue();
        assertThat(frames.get(0).payload()).isEqualTo(text);
        assertThat(client.received).as("no close frame for the client").hasValue(0);
    }

    /*
     * The frame's first half was relayed; then a byte that is not UTF-8. The offender hears 1007.
     * Its peer is inside the frame: a close frame would be read as payload, and the frame cannot
     * be finished honestly, so that connection is closed without one.
     */
    @ParameterizedTest(name = "from the client: {0}")
    @ValueSource(booleans = {true, false})
    void invalidUtf8InsideAStreamedFrameClosesTheOffenderWith1007AndCutsOffItsPeer(boolean fromClient)
            throws Exception {
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        // The peer is closed at once, not when some close frame waiting for the frame's end times out.
        start(RelayLimits.defaults().withCloseTimeout(Duration.ofMinutes(1)), client, upstream);
        BytePeer offender = fromClient ? client : upstream;
        BytePeer peer = fromClient ? upstream : client;
        byte[] text = new byte[256 << 10];
        Arrays.fill(text, (byte) 'a');
        int invalidAt = 200_000;
        text[invalidAt] = (byte) 0xFF;
        byte[] wire = frame(FIN | TEXT, text, fromClient);
        int header = wire.length - text.length;
        int half = header + (128 << 10);

        offender.send(Arrays.copyOf(wire, half));
        await().atMost(FramePeer.WAIT).pollInterval(POLL).until(() -> peer.received.get() == half);
        offender.send(Arrays.copyOfRange(wire, half, wire.length));

        await().atMost(FramePeer.WAIT).until(() -> ended(offender));
        List<Parsed> toOffender = parse(offender.bytes());
        assertThat(toOffender).as("what the offender received").hasSize(1);
        assertThat(toOffender.get(0).opcode()).isEqualTo(CLOSE);
        assertThat(toOffender.get(0).closeCode()).isEqualTo(1007);

        await().atMost(FramePeer.WAIT).until(() -> ended(peer));
        byte[] toPeer = peer.bytes();
        assertThat(toPeer.length).as("bytes the peer received").isBetween(half, header + invalidAt);
        assertThat(toPeer).as("a cut-off frame as the offender sent it").isEqualTo(Arrays.copyOf(wire, toPeer.length));
        List<Parsed> frames = parse(toPeer);
        assertThat(frames).as("what the peer received: the frame cut off, and no close frame").hasSize(1);
        assertThat(frames.get(0).complete()).isFalse();

        // The offender's connection waits for it to close; the peer's is closed already.
        offender.channel.close();
        await().atMost(FramePeer.WAIT).until(() -> harness.onCloseRuns.get() == 1);
    }

    /*
     * The upstream's connection is lost halfway through a frame: the client, inside it, cannot be
     * sent the usual 1001 (it would be payload), so its connection is closed without one.
     */
    @Test
    void aSenderLostInsideAFrameLeavesItsPeerCutOffWithoutAClose() throws Exception {
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        // Closed at once, not when a close frame waiting for the frame's end times out.
        start(RelayLimits.defaults().withCloseTimeout(Duration.ofMinutes(1)), client, upstream);
        byte[] wire = frame(FIN | BINARY, new byte[1 << 20], false);
        int half = wire.length / 2;

        upstream.send(Arrays.copyOf(wire, half));
        await().atMost(FramePeer.WAIT).pollInterval(POLL).until(() -> client.received.get() == half);
        upstream.channel.close();

        await().atMost(FramePeer.WAIT).until(() -> ended(client));
        assertThat(client.received).as("the frame's first half and nothing after it").hasValue(half);
        await().atMost(FramePeer.WAIT).until(() -> harness.onCloseRuns.get() == 1);
    }

    /*
     * The message limit is checked on each fragment's header: the first fragment is relayed as it
     * comes, the second is refused before any of it goes, so the upstream is between frames and
     * hears 1001 as usual.
     */
    @Test
    void aMessageOverTheLimitAcrossStreamedFragmentsGets1009() throws Exception {
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        RelayLimits limits = new RelayLimits(1 << 20, 1 << 20, true, Duration.ZERO, Duration.ZERO,
                Duration.ofSeconds(10));
        start(limits, client, upstream);
        byte[] first = frame(BINARY, new byte[768 << 10], true);
        byte[] second = frame(FIN | CONTINUATION, new byte[512 << 10], true);

        sendInLockStep(client, upstream, first, 128 << 10);
        client.send(Arrays.copyOf(second, 64 << 10));

        await().atMost(FramePeer.WAIT).until(() -> ended(client));
        List<Parsed> toClient = parse(client.bytes());
        assertThat(toClient).hasSize(1);
        assertThat(toClient.get(0).closeCode()).isEqualTo(1009);
        await().atMost(FramePeer.WAIT).until(() -> ended(upstream));
        List<Parsed> toUpstream = parse(upstream.bytes());
        assertThat(toUpstream).as("the first fragment whole, then a close").hasSize(2);
        assertThat(toUpstream.get(0).complete()).isTrue();
        assertThat(toUpstream.get(0).fin()).isFalse();
        assertThat(toUpstream.get(1).opcode()).isEqualTo(CLOSE);
        assertThat(toUpstream.get(1).closeCode()).isEqualTo(1001);
    }

    /*
     * A graceful shutdown while the client is inside a frame from the upstream: the upstream hears
     * 1001 at once; the client gets the rest of the frame, then 1001.
     */
    @Test
    void goingAwayReachesASideInsideAFrameAfterTheFrame() throws Exception {
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        start(RelayLimits.defaults(), client, upstream);
        byte[] payload = new byte[1 << 20];
        new Random(7692).nextBytes(payload);
        byte[] wire = frame(FIN | BINARY, payload, false);
        int half = wire.length / 2;

        upstream.send(Arrays.copyOf(wire, half));
        await().atMost(FramePeer.WAIT).pollInterval(POLL).until(() -> client.received.get() == half);
        harness.proxyClientSide().pipeline().fireUserEventTriggered(WebSocketRelay.GOING_AWAY);
        await().atMost(FramePeer.WAIT).until(() -> parse(upstream.bytes()).size() == 1);
        assertThat(parse(upstream.bytes()).get(0).closeCode()).isEqualTo(1001);
        assertThat(client.received).as("nothing cut into the frame").hasValue(half);
        upstream.send(Arrays.copyOfRange(wire, half, wire.length));

        await().atMost(FramePeer.WAIT).until(() -> parse(client.bytes()).size() == 2);
        List<Parsed> toClient = parse(client.bytes());
        assertThat(toClient.get(0).complete()).isTrue();
        assertThat(toClient.get(0).payload()).isEqualTo(payload);
        assertThat(toClient.get(1).opcode()).isEqualTo(CLOSE);
        assertThat(toClient.get(1).closeCode()).isEqualTo(1001);
    }

    /*
     * The client is silent, so it is due a ping, but it is inside a frame: the ping
     * waits for the frame's end, and so does its pong timeout, or the client would be dropped as
     * dead for not answering a ping it was never sent. The upstream trickles the frame on, which
     * keeps it alive: inside its own frame it could not answer a ping either.
     */
    @Test
    void aPingToASideInsideAFrameWaitsForTheFramesEnd() throws Exception {
        byte[] payload = new byte[1 << 20];
        new Random(1).nextBytes(payload);
        byte[] wire = frame(FIN | BINARY, payload, false);
        int half = wire.length / 2;
        BytePeer client = BytePeer.keeping();
        BytePeer upstream = BytePeer.keeping();
        // The frame starts well before the first ping is due (500 ms after the relay starts).
        RelayLimits limits = new RelayLimits(1 << 20, 16 << 20, true, Duration.ZERO, Duration.ofMillis(500),
                Duration.ofMillis(300));
        start(limits, client, upstream);
        Channel proxyToClient = harness.proxyClientSide();

        upstream.send(Arrays.copyOf(wire, half));
        await().atMost(FramePeer.WAIT).pollInterval(POLL).until(() -> client.received.get() == half);
        // Only the upstream's event loop touches `sent` and sends.
        int[] sent = {half};
        ScheduledFuture<?> trickle = upstream.channel.eventLoop().scheduleAtFixedRate(() -> {
            upstream.send(Arrays.copyOfRange(wire, sent[0], sent[0] + 1024));
            sent[0] += 1024;
        }, 20, 20, TimeUnit.MILLISECONDS);
        try {
            // Past the ping's due time and its pong timeout after it.
            await().during(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(5)).until(() -> {
                byte[] got = client.bytes();
                List<Parsed> frames = parse(got);
                return proxyToClient.isActive() && frames.size() == 1 && !frames.get(0).complete()
                        && Arrays.equals(got, Arrays.copyOf(wire, got.length));
            });
        } finally {
            trickle.cancel(false);
        }
        upstream.channel.eventLoop().execute(() -> upstream.send(Arrays.copyOfRange(wire, sent[0], wire.length)));

        await().atMost(FramePeer.WAIT).until(() -> parse(client.bytes()).size() >= 2);
        List<Parsed> toClient = parse(client.bytes());
        assertThat(toClient.get(0).complete()).isTrue();
        assertThat(toClient.get(0).payload()).isEqualTo(payload);
        assertThat(toClient.get(1).opcode()).isEqualTo(PING);
    }

    /** Starts a FRAMES relay between two byte-speaking ends. */
    private void start(RelayLimits limits, BytePeer client, BytePeer upstream) throws Exception {
        harness = new RelayHarness(WebSocketRelay.Mode.FRAMES, limits, false, true, upstream::install);
        harness.connect(client::install);
        // The proxy starts the relay in the same task that publishes its upstream channel.
        harness.proxyUpstreamSide();
        await().atMost(FramePeer.WAIT).until(() -> upstream.channel != null);
    }

    /** Whether the relay has ended its output toward this end (or the connection). */
    private static boolean ended(BytePeer peer) {
        return peer.inputShutdown || !peer.channel.isActive();
    }

    /**
     * Sends {@code wire} in pieces, each only once the receiver has every byte before it: a relay
     * that held the frame until it was whole would stall at the first.
     */
    private static void sendInLockStep(BytePeer sender, BytePeer receiver, byte[] wire, int piece) {
        long before = receiver.received.get();
        for (int from = 0; from < wire.length; from += piece) {
            int to = Math.min(from + piece, wire.length);
            sender.send(Arrays.copyOfRange(wire, from, to));
            await().atMost(FramePeer.WAIT).pollInterval(POLL).untilAsserted(() -> assertThat(receiver.received)
                    .as("bytes relayed once the sender has sent %d of %d", to, wire.length).hasValue(before + to));
        }
    }
}
