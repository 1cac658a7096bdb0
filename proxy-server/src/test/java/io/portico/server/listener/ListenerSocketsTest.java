package io.portico.server.listener;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.TcpKeepaliveConfig;
import io.portico.server.config.TransportKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Binds real listeners with non-default options on every transport this machine has, then reads
 * each option back from the live sockets. The getters used here all end in getsockopt(2) (checked
 * against Netty 4.2's bytecode): Netty only caches the backlog and TCP_FASTOPEN, which is why the
 * backlog comes from {@code ss} and fast open from a raw getsockopt.
 */
class ListenerSocketsTest {

    private static final int BUFFER = 256 * 1024;

    private final List<Socket> clients = new ArrayList<>();
    private MultiThreadIoEventLoopGroup group;
    private BoundListener bound;

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : clients) {
            s.close();
        }
        if (bound != null) {
            bound.closeAsync().join();
        }
        if (group != null) {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void acceptedConnectionsCarryEveryConfiguredOption(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);
        ListenerConfig c = Fixtures.listener("tuned", 1234, true, 64, true, Fixtures.KEEPALIVE_120_15_4,
                Duration.ofSeconds(5), BUFFER, BUFFER);
        Fixtures.Accepted accepted = new Fixtures.Accepted();

        List<String> warnings = start(t, c, accepted);
        Channel child = connectAndAccept(accepted);

        ChannelConfig cc = child.config();
        assertThat(cc.getOption(ChannelOption.TCP_NODELAY)).isTrue();
        assertThat(cc.getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
        assertThat(cc.getOption(Fixtures.keepIdle(kind))).isEqualTo(120);
        assertThat(cc.getOption(Fixtures.keepInterval(kind))).isEqualTo(15);
        assertThat(cc.getOption(Fixtures.keepCount(kind))).isEqualTo(4);
        // Linux doubles SO_RCVBUF/SO_SNDBUF for its bookkeeping, so the kernel reports at least the request.
        assertThat(cc.getOption(ChannelOption.SO_RCVBUF)).isGreaterThanOrEqualTo(BUFFER);
        assertThat(cc.getOption(ChannelOption.SO_SNDBUF)).isGreaterThanOrEqualTo(BUFFER);

        assertThat(bound.channels()).hasSize(2);
        for (Channel server : bound.channels()) {
            ChannelConfig sc = server.config();
            assertThat(sc.getOption(ChannelOption.SO_REUSEADDR)).isTrue();
            assertThat(sc.getOption(Fixtures.reusePort(kind))).isTrue();
            assertThat(sc.getOption(ChannelOption.SO_RCVBUF)).isGreaterThanOrEqualTo(BUFFER);
            if (kind != TransportKind.NIO) {
                // The kernel stores defer-accept as SYN-ACK retransmits: 5s becomes 3 retransmits, read back as 7s.
                assertThat(sc.getOption(Fixtures.deferAccept(kind))).isGreaterThanOrEqualTo(5);
                assertThat(sc.getOption(Fixtures.KERNEL_TCP_FASTOPEN)).isEqualTo(64);
            }
        }
        assertThat(Fixtures.backlogsFromSs(bound.localAddress().getPort()))
                .hasSize(2)
                .containsOnly((int) Math.min(1234, Fixtures.somaxconn()));

        if (kind == TransportKind.NIO) {
            assertThat(warnings).containsExactlyInAnyOrder(
                    "listener tuned: fast_open 64 ignored: the nio transport cannot set TCP_FASTOPEN",
                    "listener tuned: defer_accept 5s ignored: the nio transport cannot set TCP_DEFER_ACCEPT");
        } else {
            assertThat(warnings).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void disabledNodelayAndKeepaliveReachTheSocket(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);
        // Netty turns TCP_NODELAY on by default, so reading false shows the config was applied.
        ListenerConfig c = Fixtures.listener("plain", 128, false, 0, false, Fixtures.KEEPALIVE_OFF,
                Duration.ZERO, 0, 0);
        Fixtures.Accepted accepted = new Fixtures.Accepted();

        List<String> warnings = start(t, c, accepted);
        Channel child = connectAndAccept(accepted);

        assertThat(child.config().getOption(ChannelOption.TCP_NODELAY)).isFalse();
        assertThat(child.config().getOption(ChannelOption.SO_KEEPALIVE)).isFalse();
        assertThat(bound.channels()).hasSize(1);
        assertThat(bound.channels().get(0).config().getOption(Fixtures.reusePort(kind))).isFalse();
        if (kind != TransportKind.NIO) {
            assertThat(bound.channels().get(0).config().getOption(Fixtures.KERNEL_TCP_FASTOPEN)).isZero();
            assertThat(bound.channels().get(0).config().getOption(Fixtures.deferAccept(kind))).isZero();
        }
        assertThat(warnings).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void keepaliveTimersWithoutKeepaliveAreReportedNotApplied(TransportKind kind) {
        Transport t = Fixtures.require(kind);
        ListenerConfig c = Fixtures.listener("lazy", 128, false, 0, true,
                new TcpKeepaliveConfig(false, Duration.ofSeconds(30), Duration.ZERO, 0),
                Duration.ZERO, 0, 0);

        List<String> warnings = ListenerSockets.applyServerOptions(new ServerBootstrap(), c, t);

        assertThat(warnings).containsExactly(
                "listener lazy: tcp_keepalive timers ignored because tcp_keepalive.enabled is false");
    }

    private List<String> start(Transport t, ListenerConfig c, Fixtures.Accepted accepted) {
        group = t.newEventLoopGroup(2, "listener-test");
        ServerBootstrap b = new ServerBootstrap().group(group).channel(t.serverChannelClass()).childHandler(accepted);
        List<String> warnings = ListenerSockets.applyServerOptions(b, c, t);
        bound = ListenerBinder.bind(b, c, t, group);
        return warnings;
    }

    /** Connects and sends a byte, which a TCP_DEFER_ACCEPT listener waits for before accepting. */
    private Channel connectAndAccept(Fixtures.Accepted accepted) throws IOException {
        Socket client = new Socket(InetAddress.getLoopbackAddress(), bound.localAddress().getPort());
        clients.add(client);
        client.getOutputStream().write('x');
        client.getOutputStream().flush();
        return await().atMost(Duration.ofSeconds(10)).until(accepted.channels::peek, Objects::nonNull);
    }
}
