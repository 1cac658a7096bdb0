package io.portico.websocket;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

import static io.portico.websocket.WireFrames.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class RawRelayTest {

    private static final Duration WAIT = FramePeer.WAIT;

    private RelayHarness harness;
    private final BytePeer client = new BytePeer();
    private BytePeer upstream;

    @AfterEach
    void tearDown() {
        if (harness != null) {
            harness.close();
        }
    }

    private void open(RelayLimits limits, boolean upstreamAutoRead) throws InterruptedException {
        open(limits, upstreamAutoRead, true);
    }

    private void open(RelayLimits limits, boolean upstreamAutoRead, boolean clientAutoRead) throws InterruptedException {
        BlockingQueue<BytePeer> upstreams = new LinkedBlockingQueue<>();
        harness = new RelayHarness(WebSocketRelay.Mode.RAW, limits, false, upstreamAutoRead, ch -> {
            BytePeer peer = new BytePeer();
            peer.install(ch);
            upstreams.add(peer);
        });
        harness.connect(client::install, clientAutoRead);
        upstream = upstreams.poll(10, TimeUnit.SECONDS);
        assertThat(upstream).isNotNull();
        // The proxy starts the relay in the same task that publishes its upstream channel.
        harness.proxyUpstreamSide();
    }

    @Test
    void relaysBytesBothWays() throws Exception {
        open(RelayLimits.defaults(), true);

        client.send(utf8("hello upstream"));
        upstream.send(utf8("hello client"));

        await().atMost(WAIT).until(() -> upstream.text().equals("hello upstream"));
        await().atMost(WAIT).until(() -> client.text().equals("hello client"));
    }

    @Test
    void readsTheClientOnlyWhileTheUpstreamTakesMore() throws Exception {
        open(RelayLimits.defaults(), false);
        byte[] payload = new byte[32 << 20];
        new Random(793).nextBytes(payload);
        CRC32 sent = new CRC32();
        sent.update(payload);

        client.send(payload);
        Channel proxyToUpstream = harness.proxyUpstreamSide();
        await().atMost(WAIT).until(() -> !proxyToUpstream.isWritable());
        long pendingWhileBlocked = harness.peakPending.get();
        upstream.channel.config().setAutoRead(true);

        await().atMost(WAIT).until(() -> upstream.received.get() == payload.length);
        assertThat(upstream.crc()).isEqualTo(sent.getValue());
        assertThat(pendingWhileBlocked).as("bytes queued toward the stalled upstream").isLessThan(1 << 20);
        assertThat(harness.peakPending.get()).as("bytes ever queued on one connection").isLessThan(1 << 20);
        assertThat(harness.allocator.largest()).as("largest buffer the relay allocated").isLessThan(1 << 20);
    }

    @Test
    void passesHalfClosesOnAndClosesOnceBothDirectionsAreDone() throws Exception {
        open(RelayLimits.defaults(), true);
        Channel proxyToClient = harness.proxyClientSide();
        Channel proxyToUpstream = harness.proxyUpstreamSide();

        client.send(utf8("request"));
        client.shutdownOutput();
        await().atMost(WAIT).until(() -> upstream.inputShutdown);
        assertThat(upstream.text()).isEqualTo("request");

        upstream.send(utf8("late response"));
        await().atMost(WAIT).until(() -> client.text().equals("late response"));
        assertThat(proxyToClient.isOpen()).as("the client can still receive").isTrue();

        upstream.shutdownOutput();
        await().atMost(WAIT).until(() -> client.inputShutdown);
        await().atMost(WAIT).until(() -> !proxyToClient.isOpen() && !proxyToUpstream.isOpen());
        await().atMost(WAIT).until(() -> harness.onCloseRuns.get() == 1);
    }

    @Test
    void passesTheUpstreamsCloseOnAsEndOfInputAndClosesWhenTheClientCloses() throws Exception {
        open(RelayLimits.defaults(), true);
        Channel proxyToClient = harness.proxyClientSide();
        Channel proxyToUpstream = harness.proxyUpstreamSide();

        upstream.send(utf8("last words"));
        upstream.channel.close();
        await().atMost(WAIT).until(() -> client.inputShutdown);
        assertThat(client.text()).isEqualTo("last words");
        client.channel.close();

        await().atMost(WAIT).until(() -> !proxyToClient.isOpen() && !proxyToUpstream.isOpen());
        await().atMost(WAIT).until(() -> harness.onCloseRuns.get() == 1);
    }

    @Test
    void closesTheClientWhenTheUpstreamResets() throws Exception {
        open(RelayLimits.defaults(), true);
        Channel proxyToClient = harness.proxyClientSide();

        upstream.channel.config().setOption(ChannelOption.SO_LINGER, 0);
        upstream.channel.close();

        await().atMost(WAIT).until(() -> !proxyToClient.isOpen());
        await().atMost(WAIT).until(() -> client.inputShutdown);
        await().atMost(WAIT).until(() -> harness.onCloseRuns.get() == 1);
    }

    @Test
    void closesAClientThatNeverReadsButKeepsSendingAfterTheSendTimeout() throws Exception {
        open(new RelayLimits(1 << 20, 16 << 20, true, Duration.ofMillis(300), Duration.ZERO,
                Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofMillis(500)), true, false);
        Channel proxyToClient = harness.proxyClientSide();
        Channel proxyToUpstream = harness.proxyUpstreamSide();
        // The client's bytes keep it from being idle, and the upstream is not read while the client is full.
        ScheduledFuture<?> chatter = client.channel.eventLoop().scheduleAtFixedRate(
                () -> client.send(utf8("tick")), 0, 100, TimeUnit.MILLISECONDS);
        try {
            upstream.send(new byte[8 << 20]);
            await().atMost(WAIT).until(() -> !proxyToClient.isWritable());

            await().atMost(WAIT).until(() -> !proxyToClient.isOpen());
            // The upstream's unread bytes make its close a reset rather than a FIN.
            await().atMost(WAIT).until(() -> !proxyToUpstream.isOpen());
            await().atMost(WAIT).until(() -> harness.onCloseRuns.get() == 1);
        } finally {
            chatter.cancel(false);
        }
    }

    @Test
    void closesBothConnectionsWhenASideIsIdle() throws Exception {
        open(new RelayLimits(1 << 20, 16 << 20, true, Duration.ofMillis(300), Duration.ZERO,
                Duration.ofSeconds(10)), true);

        await().atMost(WAIT).until(() -> client.inputShutdown && upstream.inputShutdown);
        await().atMost(WAIT).until(() -> harness.onCloseRuns.get() == 1);
    }
}
