package io.portico.websocket;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The send timeout: a side that leaves the relay's output unread is closed, a slow reader is not. */
class SendTimeoutTest {

    private FramePair pair;

    @AfterEach
    void tearDown() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void closesAClientThatNeverReadsButKeepsPingingAndTellsTheUpstreamGoingAway() throws Exception {
        // An idle timeout would not help: the client's pings keep it busy, and the upstream, not read
        // while the client is full, counts as alive.
        pair = FramePair.withStalledClient(limits(Duration.ofMillis(300), Duration.ofMillis(500)));
        ScheduledFuture<?> pings = pair.client.channel.eventLoop().scheduleAtFixedRate(
                () -> pair.client.send(new PingWebSocketFrame()), 0, 100, TimeUnit.MILLISECONDS);
        try {
            Channel proxyToClient = pair.harness.proxyClientSide();
            pair.upstream.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[8 << 20])));
            await().atMost(FramePeer.WAIT).until(() -> !proxyToClient.isWritable());

            await().atMost(FramePeer.WAIT).until(() -> !proxyToClient.isOpen());
            assertThat(pair.upstream.awaitCloseCode()).isEqualTo(1001);
            pair.upstream.awaitClosed();
            await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
        } finally {
            pings.cancel(false);
        }
    }

    @Test
    void keepsAClientThatReadsSlowlyButSteadily() throws Exception {
        Duration sendTimeout = Duration.ofMillis(600);
        BlockingQueue<FramePeer> upstreams = new LinkedBlockingQueue<>();
        // The client reads bytes, not frames: a frame decoder would read on by itself until its frame is whole.
        BytePeer client = new BytePeer();
        try (RelayHarness harness = new RelayHarness(WebSocketRelay.Mode.FRAMES, limits(Duration.ZERO, sendTimeout),
                false, true, ch -> {
                    FramePeer peer = FramePeer.server();
                    peer.install(ch);
                    upstreams.add(peer);
                })) {
            harness.connect(client::install, false);
            FramePeer upstream = upstreams.poll(10, TimeUnit.SECONDS);
            assertThat(upstream).isNotNull();
            Channel proxyToClient = harness.proxyClientSide();
            // 32 KiB every 10 ms: the 8 MiB frame keeps the relay's side unwritable well over the send timeout.
            client.channel.config().setRecvByteBufAllocator(new FixedRecvByteBufAllocator(32 << 10).maxMessagesPerRead(1));
            int size = 8 << 20;
            upstream.send(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[size])));
            await().atMost(FramePeer.WAIT).until(() -> !proxyToClient.isWritable());
            long start = System.nanoTime();
            ScheduledFuture<?> reads = client.channel.eventLoop().scheduleAtFixedRate(
                    () -> client.channel.read(), 0, 10, TimeUnit.MILLISECONDS);
            try {
                await().atMost(FramePeer.WAIT).until(proxyToClient::isWritable);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("time the relay's side stayed unwritable")
                        .isGreaterThan(sendTimeout);
                // A 64-bit length header and the payload.
                await().atMost(FramePeer.WAIT).until(() -> client.received.get() == 10 + size);
                assertThat(proxyToClient.isOpen()).isTrue();
                assertThat(upstream.channel.isActive()).isTrue();
            } finally {
                reads.cancel(false);
            }
        }
    }

    private static RelayLimits limits(Duration idle, Duration sendTimeout) {
        return new RelayLimits(16 << 20, 16 << 20, true, idle, Duration.ZERO, Duration.ofSeconds(10),
                Duration.ofSeconds(1), sendTimeout);
    }
}
