package io.portico.websocket;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.portico.websocket.FramePeer.Frame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

import static io.portico.websocket.WireFrames.FIN;
import static io.portico.websocket.WireFrames.RSV1;
import static io.portico.websocket.WireFrames.TEXT;
import static io.portico.websocket.WireFrames.bytes;
import static io.portico.websocket.WireFrames.frame;
import static io.portico.websocket.WireFrames.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class FrameRelayTest {

    private FramePair pair;

    @AfterEach
    void tearDown() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void relaysTextAndBinaryMessagesBothWaysMaskedOnlyTowardTheUpstream() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);

        pair.client.send(new TextWebSocketFrame("hello upstream"));
        pair.upstream.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bytes(1, 2, 3))));

        Frame atUpstream = pair.upstream.next();
        assertThat(atUpstream.type()).isEqualTo("text");
        assertThat(atUpstream.fin()).isTrue();
        assertThat(atUpstream.text()).isEqualTo("hello upstream");
        Frame atClient = pair.client.next();
        assertThat(atClient.type()).isEqualTo("binary");
        assertThat(atClient.payload()).containsExactly(1, 2, 3);
        // Each peer's decoder rejects frames masked the wrong way, so no errors means the masking was right.
        assertThat(pair.client.errors).isEmpty();
        assertThat(pair.upstream.errors).isEmpty();
    }

    @Test
    void relaysFragmentsAsTheyComeWithControlFramesBetweenThem() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);
        byte[] o = utf8("ö");

        pair.client.send(new TextWebSocketFrame(false, 0, Unpooled.wrappedBuffer(utf8("Hel"))));
        pair.client.send(new PingWebSocketFrame(Unpooled.wrappedBuffer(utf8("mid-message"))));
        // The two bytes of "ö" arrive in different fragments: UTF-8 is checked across them.
        pair.client.send(new ContinuationWebSocketFrame(false, 0, Unpooled.wrappedBuffer(utf8("lo w"), bytes(o[0]))));
        pair.client.send(new ContinuationWebSocketFrame(true, 0, Unpooled.wrappedBuffer(bytes(o[1]), utf8("rld"))));

        List<Frame> frames = List.of(pair.upstream.next(), pair.upstream.next(), pair.upstream.next(),
                pair.upstream.next());
        assertThat(frames).extracting(Frame::type).containsExactly("text", "ping", "continuation", "continuation");
        assertThat(frames).extracting(Frame::fin).containsExactly(false, true, false, true);
        assertThat(frames.get(1).text()).isEqualTo("mid-message");
        String message = new String(WireFrames.concat(frames.get(0).payload(), frames.get(2).payload(),
                frames.get(3).payload()), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(message).isEqualTo("Hello wörld");
        Frame pong = pair.client.next();
        assertThat(pong.type()).isEqualTo("pong");
        assertThat(pong.text()).isEqualTo("mid-message");
    }

    @Test
    void relaysPingsAndPongsFromTheUpstream() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);

        pair.upstream.send(new PingWebSocketFrame(Unpooled.wrappedBuffer(utf8("are you there"))));

        Frame ping = pair.client.next();
        assertThat(ping.type()).isEqualTo("ping");
        assertThat(ping.text()).isEqualTo("are you there");
        Frame pong = pair.upstream.next();
        assertThat(pong.type()).isEqualTo("pong");
        assertThat(pong.text()).isEqualTo("are you there");
    }

    @Test
    void relaysTheClientsCloseHandshakeAndEndsBothConnections() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);

        pair.client.send(new CloseWebSocketFrame(1000, "bye"));

        Frame atUpstream = pair.upstream.next();
        assertThat(atUpstream.type()).isEqualTo("close");
        assertThat(atUpstream.closeCode()).isEqualTo(1000);
        assertThat(atUpstream.closeReason()).isEqualTo("bye");
        Frame reply = pair.client.next();
        assertThat(reply.type()).isEqualTo("close");
        assertThat(reply.closeCode()).isEqualTo(1000);
        pair.client.awaitClosed();
        pair.upstream.awaitClosed();
        await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
    }

    @Test
    void relaysTheUpstreamsCloseAndTheClientsReply() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);

        pair.upstream.send(new CloseWebSocketFrame(4000, "done"));

        Frame atClient = pair.client.next();
        assertThat(atClient.closeCode()).isEqualTo(4000);
        assertThat(atClient.closeReason()).isEqualTo("done");
        Frame reply = pair.upstream.next();
        assertThat(reply.type()).isEqualTo("close");
        assertThat(reply.closeCode()).isEqualTo(4000);
        pair.client.awaitClosed();
        pair.upstream.awaitClosed();
        await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
    }

    @Test
    void tellsTheClientGoingAwayWhenTheUpstreamConnectionDrops() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);

        pair.upstream.channel.close();

        assertThat(pair.client.awaitCloseCode()).isEqualTo(1001);
        pair.client.awaitClosed();
        await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
    }

    @Test
    void echoesTheClientsCloseWhenTheUpstreamDropsWithoutAnswering() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), false);
        pair.upstream.answerClose = false;

        pair.client.send(new CloseWebSocketFrame(1000, "bye"));
        assertThat(pair.upstream.next().type()).isEqualTo("close");
        pair.upstream.channel.close();

        Frame reply = pair.client.next();
        assertThat(reply.type()).isEqualTo("close");
        assertThat(reply.closeCode()).isEqualTo(1000);
        pair.client.awaitClosed();
    }

    @Test
    void closesAClientThatNeverAnswersAfterTheCloseTimeout() throws Exception {
        RelayLimits limits = RelayLimits.defaults().withCloseTimeout(Duration.ofMillis(300));
        pair = new FramePair(limits, false);
        pair.client.answerClose = false;

        pair.upstream.send(new CloseWebSocketFrame(1000, "bye"));

        assertThat(pair.client.next().closeCode()).isEqualTo(1000);
        pair.upstream.awaitClosed();
        pair.client.awaitClosed();
    }

    @Test
    void relaysCompressedTextUncheckedWhenDeflateWasNegotiated() throws Exception {
        pair = new FramePair(RelayLimits.defaults(), true);
        // Not UTF-8, but with RSV1 these are deflated bytes the relay cannot read.
        byte[] deflated = bytes(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00);

        pair.client.sendRaw(frame(FIN | RSV1 | TEXT, deflated, true));

        Frame atUpstream = pair.upstream.next();
        assertThat(atUpstream.type()).isEqualTo("text");
        assertThat(atUpstream.rsv()).isEqualTo(0b100);
        assertThat(atUpstream.payload()).isEqualTo(deflated);
    }

    @Test
    void relaysInvalidUtf8WhenValidationIsOff() throws Exception {
        RelayLimits limits = new RelayLimits(1 << 20, 16 << 20, false, Duration.ZERO, Duration.ZERO,
                Duration.ofSeconds(10));
        pair = new FramePair(limits, false);

        pair.client.sendRaw(frame(FIN | TEXT, bytes(0xc3, 0x28), true));

        assertThat(pair.upstream.next().payload()).containsExactly(0xc3, 0x28);
    }

    /*
     * Upstream to client, so that nothing is masked: under the paranoid leak detector every 8-byte
     * masking step is a tracked access, which would make 16 MiB take most of a minute. The masking
     * direction goes through the same reading and writing code.
     */
    @Test
    void relaysA16MiBMessageFragmentByFragmentWithBoundedBuffering() throws Exception {
        pair = FramePair.withStalledClient(RelayLimits.defaults());
        int fragment = 256 << 10;
        int fragments = 64;
        Random random = new Random(6455);
        CRC32 sent = new CRC32();
        for (int i = 0; i < fragments; i++) {
            byte[] payload = new byte[fragment];
            random.nextBytes(payload);
            sent.update(payload);
            boolean last = i == fragments - 1;
            WebSocketFrame frame = i == 0
                    ? new BinaryWebSocketFrame(false, 0, Unpooled.wrappedBuffer(payload))
                    : new ContinuationWebSocketFrame(last, 0, Unpooled.wrappedBuffer(payload));
            pair.upstream.channel.write(frame);
        }
        pair.upstream.channel.flush();
        Channel proxyToClient = pair.harness.proxyClientSide();

        // The client reads nothing yet: the relay must stop reading the upstream instead of queueing.
        await().atMost(FramePeer.WAIT).until(() -> !proxyToClient.isWritable());
        long pendingWhileBlocked = pair.harness.peakPending.get();
        pair.client.channel.config().setAutoRead(true);

        List<Frame> received = new ArrayList<>();
        while (received.size() < fragments) {
            received.add(pair.client.next());
        }
        CRC32 got = new CRC32();
        received.forEach(f -> got.update(f.payload()));
        assertThat(got.getValue()).isEqualTo(sent.getValue());
        assertThat(received).allSatisfy(f -> assertThat(f.payload()).hasSize(fragment));
        assertThat(received.get(fragments - 1).fin()).isTrue();
        assertThat(pendingWhileBlocked).as("bytes queued toward the stalled client").isLessThan(1 << 20);
        assertThat(pair.harness.peakPending.get()).as("bytes ever queued on one connection").isLessThan(1 << 20);
        assertThat(pair.harness.allocator.largest()).as("largest buffer the relay allocated")
                .isLessThan(2 * fragment);
    }
}
