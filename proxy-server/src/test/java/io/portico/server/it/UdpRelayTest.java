package io.portico.server.it;

import io.portico.server.PorticoServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** {@code protocol: udp} listeners: datagrams relayed per client session. */
class UdpRelayTest {

    private DatagramSocket origin;
    private final Set<Integer> originSawPorts = ConcurrentHashMap.newKeySet();
    private Thread originThread;

    @BeforeEach
    void startOrigin() throws IOException {
        origin = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        originThread = new Thread(() -> {
            byte[] buf = new byte[65536];
            while (!origin.isClosed()) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    origin.receive(p);
                    originSawPorts.add(p.getPort());
                    String reply = "echo:" + new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
                    byte[] out = reply.getBytes(StandardCharsets.US_ASCII);
                    origin.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        }, "udp-origin");
        originThread.setDaemon(true);
        originThread.start();
    }

    @AfterEach
    void stopOrigin() {
        origin.close();
    }

    private PorticoServer portico(String transport, String stream) throws Exception {
        return StreamHarness.start("""
                workers: 2
                transport: %s
                access_log: {enabled: false}
                listeners:
                  - name: udp
                    address: 127.0.0.1:0
                    protocol: udp
                    upstream: origin
                    stream:
                %s
                upstreams:
                  origin:
                    backends: [{address: 127.0.0.1:%d}]
                """.formatted(StreamHarness.transport(transport), stream, origin.getLocalPort()));
    }

    private static DatagramSocket client() throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setSoTimeout(5000);
        return s;
    }

    private static String exchange(DatagramSocket s, PorticoServer portico, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.US_ASCII);
        s.send(new DatagramPacket(out, out.length, portico.address("udp")));
        byte[] in = new byte[2048];
        DatagramPacket p = new DatagramPacket(in, in.length);
        s.receive(p);
        assertThat(p.getSocketAddress()).isEqualTo(portico.address("udp"));
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "nio"})
    void eachClientGetsItsOwnSessionAndItsOwnReplies(String transport) throws Exception {
        try (PorticoServer portico = portico(transport, "      idle_timeout: 30s");
             DatagramSocket a = client(); DatagramSocket b = client(); DatagramSocket c = client()) {
            for (int round = 0; round < 3; round++) {
                assertThat(exchange(a, portico, "a" + round)).isEqualTo("echo:a" + round);
                assertThat(exchange(b, portico, "b" + round)).isEqualTo("echo:b" + round);
                assertThat(exchange(c, portico, "c" + round)).isEqualTo("echo:c" + round);
            }
            // One backend socket per client, kept for the whole session.
            assertThat(originSawPorts).hasSize(3);
            assertThat(portico.streamStats("udp").connections()).isEqualTo(3);
        }
    }

    @Test
    void clientsBeyondTheSessionCapAreDropped() throws Exception {
        try (PorticoServer portico = portico("auto", "      max_sessions: 2");
             DatagramSocket a = client(); DatagramSocket b = client(); DatagramSocket c = client()) {
            assertThat(exchange(a, portico, "a")).isEqualTo("echo:a");
            assertThat(exchange(b, portico, "b")).isEqualTo("echo:b");
            c.setSoTimeout(500);
            assertThatThrownBy(() -> exchange(c, portico, "c")).isInstanceOf(SocketTimeoutException.class);
            assertThat(portico.streamStats("udp").rejectedCount()).isEqualTo(1);
            // Existing sessions are unaffected.
            assertThat(exchange(a, portico, "a2")).isEqualTo("echo:a2");
        }
    }

    @Test
    void anIdleSessionEndsAndTheNextDatagramOpensANewOne() throws Exception {
        try (PorticoServer portico = portico("auto", "      idle_timeout: 300ms");
             DatagramSocket a = client()) {
            assertThat(exchange(a, portico, "first")).isEqualTo("echo:first");
            assertThat(originSawPorts).hasSize(1);
            await().atMost(Duration.ofSeconds(5)).until(() -> portico.streamStats("udp").connections() == 1
                    && sessionsOf(portico) == 0);
            assertThat(exchange(a, portico, "second")).isEqualTo("echo:second");
            assertThat(originSawPorts).hasSize(2);
        }
    }

    /**
     * Both members answer with ICMP port unreachable, which takes each out (max_fails 1). Every
     * datagram from a new client then finds no member: it is dropped, and its buffer released (the
     * class's leak check fails otherwise). Client addresses can be spoofed, so a leak here would
     * grow without bound while the members are down.
     */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "nio"})
    void datagramsFromNewClientsWhileEveryMemberIsDownAreDropped(String transport, @TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        int closed1;
        int closed2;
        try (DatagramSocket s1 = client(); DatagramSocket s2 = client()) {
            closed1 = s1.getLocalPort();
            closed2 = s2.getLocalPort();
        }
        try (PorticoServer portico = StreamHarness.start("""
                workers: 1
                transport: %s
                access_log: {path: %s}
                listeners:
                  - name: udp
                    address: 127.0.0.1:0
                    protocol: udp
                    upstream: origin
                upstreams:
                  origin:
                    max_fails: 1
                    fail_timeout: 60s
                    backends: [{address: 127.0.0.1:%d}, {address: 127.0.0.1:%d}]
                """.formatted(StreamHarness.transport(transport), log, closed1, closed2));
             DatagramSocket a = client()) {
            byte[] x = {'x'};
            for (int member = 1; member <= 2; member++) {
                a.send(new DatagramPacket(x, 1, portico.address("udp")));
                int unreachable = member;
                await().atMost(Duration.ofSeconds(10)).until(() -> count(portico, log, "end=upstream_unreachable") == unreachable);
            }
            int clients = 20;
            for (int i = 0; i < clients; i++) {
                try (DatagramSocket b = client()) {
                    b.send(new DatagramPacket(x, 1, portico.address("udp")));
                }
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> count(portico, log, "end=no_backend") == clients);
            assertThat(sessionsOf(portico)).isZero();
        }
    }

    private static int count(PorticoServer portico, Path log, String part) throws IOException {
        portico.accessLog().flush();
        return Files.exists(log) ? Files.readString(log).split(part, -1).length - 1 : 0;
    }

    private static int sessionsOf(PorticoServer portico) {
        return portico.udpSessions("udp");
    }
}
