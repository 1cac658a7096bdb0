package io.portico.websocket;

import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.portico.websocket.FramePeer.Frame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class HeartbeatTest {

    private FramePair pair;

    @AfterEach
    void tearDown() {
        if (pair != null) {
            pair.close();
        }
    }

    @Test
    void closesBothSidesWithGoingAwayWhenASideIsIdle() throws Exception {
        pair = new FramePair(limits(Duration.ofMillis(300), Duration.ZERO, Duration.ofSeconds(10)), false);

        assertThat(pair.client.awaitCloseCode()).isEqualTo(1001);
        assertThat(pair.upstream.awaitCloseCode()).isEqualTo(1001);
        pair.client.awaitClosed();
        pair.upstream.awaitClosed();
        await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
    }

    @Test
    void keepsARelayOpenWhileBothSidesTalk() throws Exception {
        pair = new FramePair(limits(Duration.ofMillis(400), Duration.ZERO, Duration.ofSeconds(10)), false);
        ScheduledFuture<?> clientTalks = pair.client.channel.eventLoop().scheduleAtFixedRate(
                () -> pair.client.send(new TextWebSocketFrame("tick")), 0, 100, TimeUnit.MILLISECONDS);
        ScheduledFuture<?> upstreamTalks = pair.upstream.channel.eventLoop().scheduleAtFixedRate(
                () -> pair.upstream.send(new TextWebSocketFrame("tock")), 0, 100, TimeUnit.MILLISECONDS);
        try {
            await().during(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(3))
                    .until(() -> pair.client.channel.isActive() && pair.upstream.channel.isActive());
        } finally {
            clientTalks.cancel(false);
            upstreamTalks.cancel(false);
        }
        assertThat(pair.upstream.nextNotPing().text()).isEqualTo("tick");
        assertThat(pair.client.nextNotPing().text()).isEqualTo("tock");
    }

    @Test
    void pingsSilentSidesAndKeepsTheirPongsToItself() throws Exception {
        pair = new FramePair(limits(Duration.ZERO, Duration.ofMillis(100), Duration.ofMillis(500)), false);

        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(3))
                .until(() -> pair.client.channel.isActive() && pair.upstream.channel.isActive());

        List<Frame> atClient = new ArrayList<>(pair.client.frames);
        List<Frame> atUpstream = new ArrayList<>(pair.upstream.frames);
        assertThat(atClient).isNotEmpty().allSatisfy(f -> {
            assertThat(f.type()).isEqualTo("ping");
            assertThat(f.payload()).hasSize(8);
        });
        assertThat(atUpstream).isNotEmpty().allSatisfy(f -> assertThat(f.type()).isEqualTo("ping"));
    }

    @Test
    void pingsEveryPingIntervalEvenWhenThePongTimeoutIsLonger() throws Exception {
        // Answered pings: the next is due a ping interval after the pong, not at the pong's deadline
        // (with these settings they went out once a second).
        pair = new FramePair(limits(Duration.ZERO, Duration.ofMillis(100), Duration.ofSeconds(1)), false);
        await().atMost(Duration.ofMillis(1500))
                .until(() -> pair.client.frames.stream().filter(f -> f.type().equals("ping")).count() >= 4);
    }

    @Test
    void dropsASideThatStopsAnsweringPingsAndTellsTheOtherGoingAway() throws Exception {
        pair = new FramePair(limits(Duration.ZERO, Duration.ofMillis(100), Duration.ofMillis(300)), false);
        pair.upstream.answerPings = false;

        assertThat(pair.client.awaitCloseCode()).isEqualTo(1001);
        pair.upstream.awaitClosed();
        assertThat(new ArrayList<>(pair.upstream.frames)).as("the dead side gets no close frame")
                .extracting(Frame::type).containsOnly("ping");
        pair.client.awaitClosed();
        await().atMost(FramePeer.WAIT).until(() -> pair.harness.onCloseRuns.get() == 1);
    }

    private static RelayLimits limits(Duration idle, Duration pingInterval, Duration pongTimeout) {
        return new RelayLimits(1 << 20, 16 << 20, true, idle, pingInterval, pongTimeout);
    }
}
