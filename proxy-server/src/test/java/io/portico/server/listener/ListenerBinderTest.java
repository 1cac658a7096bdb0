package io.portico.server.listener;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.portico.server.config.ByteSize;
import io.portico.server.config.HostPort;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.TransportKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class ListenerBinderTest {

    private static final int LOOPS = 4;

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
    void reusePortBindsOneSocketPerEventLoopAndEachOneAccepts(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);
        Fixtures.Accepted accepted = new Fixtures.Accepted();

        bind(t, Fixtures.plainListener("shared", true), accepted);

        assertThat(bound.channels()).hasSize(t.supportsReusePort() ? LOOPS : 1);
        int port = bound.localAddress().getPort();
        assertThat(port).isPositive();
        Set<EventLoop> loops = new HashSet<>();
        for (Channel server : bound.channels()) {
            assertThat(((InetSocketAddress) server.localAddress()).getPort()).isEqualTo(port);
            loops.add(server.eventLoop());
        }
        assertThat(loops).as("each socket accepts on its own event loop").hasSameSizeAs(bound.channels());
        // The kernel hashes each connection to one of the sockets; with 64 connections every socket
        // gets some unless something is wrong (the odds of missing one by chance are below 4 * 0.75^64).
        for (int i = 0; i < 64; i++) {
            clients.add(new Socket(InetAddress.getLoopbackAddress(), port));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted.channels.size() == 64);
        Set<Channel> acceptingSockets = new HashSet<>();
        for (Channel child : accepted.channels) {
            acceptingSockets.add(child.parent());
        }
        assertThat(acceptingSockets).containsExactlyInAnyOrderElementsOf(bound.channels());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void withoutReusePortOneSocketAcceptsEverything(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);
        Fixtures.Accepted accepted = new Fixtures.Accepted();

        bind(t, Fixtures.plainListener("single", false), accepted);
        for (int i = 0; i < 8; i++) {
            clients.add(new Socket(InetAddress.getLoopbackAddress(), bound.localAddress().getPort()));
        }

        assertThat(bound.channels()).hasSize(1);
        assertThat(bound.name()).isEqualTo("single");
        assertThat(bound.localAddress().getAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted.channels.size() == 8);
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void closingStopsAcceptingButKeepsAcceptedConnections(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);
        Fixtures.Accepted accepted = new Fixtures.Accepted();
        bind(t, Fixtures.plainListener("closing", true), accepted);
        int port = bound.localAddress().getPort();
        clients.add(new Socket(InetAddress.getLoopbackAddress(), port));
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted.channels.size() == 1);

        bound.closeAsync().get(10, TimeUnit.SECONDS);

        assertThat(bound.channels()).noneMatch(Channel::isOpen);
        // NIO releases a selector-registered listening socket on the selector's next turn, so a
        // loaded machine may still accept for a moment: await the refusal rather than race it.
        await().atMost(Duration.ofSeconds(5)).until(() -> refuses(port));
        assertThat(accepted.channels.peek().isActive()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void aPortInUseFailsWithTheListenerName(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            ListenerConfig c = new ListenerConfig("busy", new HostPort("127.0.0.1", taken.getLocalPort()), 128,
                    true, 0, true, Fixtures.KEEPALIVE_OFF, Duration.ZERO,
                    new ByteSize(0), new ByteSize(0), Fixtures.HTTP, null,
                    new io.portico.server.config.WebSocketListenerConfig(0, 0), null, null, Fixtures.HTTP_PROTOCOL, null,
                Fixtures.STREAM, Fixtures.NO_PROXY_PROTOCOL, Fixtures.NO_LIMITS);

            assertThatThrownBy(() -> bind(t, c, new Fixtures.Accepted()))
                    .isInstanceOf(ListenerBindException.class)
                    .hasMessageStartingWith("listener busy: cannot bind 127.0.0.1:" + taken.getLocalPort() + ": ")
                    .hasMessageContaining("Address already in use");
        }
    }

    @Test
    void aHostThatDoesNotResolveSaysSo() throws Exception {
        Transport t = Fixtures.require(TransportKind.NIO);
        ListenerConfig c = new ListenerConfig("nowhere", new HostPort("nohost.invalid", 29180), 128,
                true, 0, true, Fixtures.KEEPALIVE_OFF, Duration.ZERO,
                new ByteSize(0), new ByteSize(0), Fixtures.HTTP, null,
                new io.portico.server.config.WebSocketListenerConfig(0, 0), null, null, Fixtures.HTTP_PROTOCOL, null,
            Fixtures.STREAM, Fixtures.NO_PROXY_PROTOCOL, Fixtures.NO_LIMITS);
        // It said "...: null" (the JDK's UnresolvedAddressException has no message).
        assertThatThrownBy(() -> bind(t, c, new Fixtures.Accepted()))
                .isInstanceOf(ListenerBindException.class)
                .hasMessage("listener nowhere: cannot bind nohost.invalid:29180: host not found: nohost.invalid");
    }

    private void bind(Transport t, ListenerConfig c, Fixtures.Accepted accepted) {
        if (group == null) {
            group = t.newEventLoopGroup(LOOPS, "binder-test");
        }
        ServerBootstrap b = new ServerBootstrap().group(group).channel(t.serverChannelClass()).childHandler(accepted);
        ListenerSockets.applyServerOptions(b, c, t);
        bound = ListenerBinder.bind(b, c, t, group);
    }

    private boolean refuses(int port) {
        try {
            clients.add(new Socket(InetAddress.getLoopbackAddress(), port));
            return false;
        } catch (ConnectException refused) {
            return true;
        } catch (java.io.IOException other) {
            return false;
        }
    }

}
