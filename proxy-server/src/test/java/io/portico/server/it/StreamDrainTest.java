package io.portico.server.it;

import io.portico.server.PorticoServer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static io.portico.server.it.StreamHarness.connect;
import static io.portico.server.it.StreamHarness.readAll;
import static io.portico.server.it.StreamHarness.readExactly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A graceful shutdown lets tcp relays and udp sessions finish, for at most the drain timeout, as it does requests. */
class StreamDrainTest {

    private static String config(String protocol, int port) {
        return """
                workers: 2
                access_log: {enabled: false}
                listeners:
                  - {name: l4, address: "127.0.0.1:0", protocol: %s, upstream: origin}
                upstreams:
                  origin: {backends: [{address: "127.0.0.1:%d"}]}
                """.formatted(protocol, port);
    }

    private static boolean refused(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static void assertEchoes(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(readExactly(s.getInputStream(), text.length()), StandardCharsets.US_ASCII)).isEqualTo(text);
    }

    @Test
    void shutdownStopsAcceptingAndWaitsForAnOpenTcpRelayToEnd() throws Exception {
        try (TcpOrigin echo = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(config("tcp", echo.port()));
             Socket relay = connect(portico, "l4")) {
            int port = portico.address("l4").getPort();
            assertEchoes(relay, "before");
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> portico.shutdown(Duration.ofSeconds(30)));

            await().atMost(Duration.ofSeconds(5)).until(() -> refused(port));
            assertEchoes(relay, "while draining");
            assertThat(shutdown).isNotDone();

            // The client ends its side; the origin answers with its FIN; the relay is complete.
            relay.getOutputStream().write("last".getBytes(StandardCharsets.US_ASCII));
            relay.shutdownOutput();
            assertThat(new String(readAll(relay.getInputStream()), StandardCharsets.US_ASCII)).isEqualTo("last");
            await().atMost(Duration.ofSeconds(10)).until(shutdown::isDone);
        }
    }

    @Test
    void aTcpRelayStillOpenAtTheDrainTimeoutIsClosed() throws Exception {
        try (TcpOrigin echo = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(config("tcp", echo.port()));
             Socket relay = connect(portico, "l4")) {
            assertEchoes(relay, "x");
            long start = System.nanoTime();
            portico.shutdown(Duration.ofMillis(500));

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
            assertThat(StreamReloadTest.ended(relay)).isTrue();
        }
    }

    @Test
    void shutdownKeepsAnsweringOpenUdpSessionsUntilTheDrainTimeoutButOpensNoNewOnes() throws Exception {
        try (UdpOrigin origin = new UdpOrigin("O");
             PorticoServer portico = StreamHarness.start(config("udp", origin.port()));
             DatagramSocket session = UdpOrigin.client(5000);
             DatagramSocket late = UdpOrigin.client(300)) {
            InetSocketAddress to = portico.address("l4");
            assertThat(UdpOrigin.exchange(session, to, "1")).isEqualTo("O:1");
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> portico.shutdown(Duration.ofSeconds(2)));
            await().atMost(Duration.ofSeconds(5)).until(() -> portico.lifecycle().draining());

            assertThat(UdpOrigin.exchange(session, to, "2")).isEqualTo("O:2");
            int seen = origin.datagrams.get();
            assertThat(UdpOrigin.exchange(late, to, "new")).isNull();
            assertThat(origin.datagrams.get()).isEqualTo(seen);

            await().atMost(Duration.ofSeconds(10)).until(shutdown::isDone);
            session.setSoTimeout(300);
            assertThat(UdpOrigin.exchange(session, to, "3")).isNull();
        }
    }
}
