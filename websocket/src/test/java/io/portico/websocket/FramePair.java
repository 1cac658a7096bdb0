package io.portico.websocket;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A client and an upstream speaking frames through a FRAMES relay. */
final class FramePair implements AutoCloseable {

    final RelayHarness harness;
    final FramePeer client = FramePeer.client();
    final FramePeer upstream;

    FramePair(RelayLimits limits, boolean deflate) throws InterruptedException {
        this(limits, deflate, true);
    }

    /** A pair whose client does not read until the test turns auto-read on. */
    static FramePair withStalledClient(RelayLimits limits) throws InterruptedException {
        return new FramePair(limits, false, false);
    }

    private FramePair(RelayLimits limits, boolean deflate, boolean clientAutoRead) throws InterruptedException {
        BlockingQueue<FramePeer> upstreams = new LinkedBlockingQueue<>();
        harness = new RelayHarness(WebSocketRelay.Mode.FRAMES, limits, deflate, true, ch -> {
            FramePeer peer = FramePeer.server();
            peer.install(ch);
            upstreams.add(peer);
        });
        harness.connect(client::install, clientAutoRead);
        upstream = upstreams.poll(10, TimeUnit.SECONDS);
        assertThat(upstream).as("the relay connected to the upstream").isNotNull();
        // The proxy starts the relay in the same task that publishes its upstream channel.
        harness.proxyUpstreamSide();
    }

    @Override
    public void close() {
        harness.close();
    }
}
