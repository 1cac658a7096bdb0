package io.portico.server.listener;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import io.portico.server.config.TransportKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TransportTest {

    @Test
    void autoPicksATransportThatAcceptsConnectionsAndSaysWhy() throws Exception {
        Transport t = Transport.select(TransportKind.AUTO);

        assertThat(t.kind()).isNotEqualTo(TransportKind.AUTO);
        assertThat(t.reason()).startsWith(Transport.label(t.kind()) + ": ");
        assertAcceptsConnections(t);
    }

    /**
     * The option tests skip a native transport that cannot load; on Linux at least one must load,
     * or the native half of the coverage would vanish without a failure.
     */
    @Test
    void aNativeTransportLoadsOnLinux() {
        assumeTrue(System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux"),
                "native transports are Linux-only");

        assertThat(Fixtures.available(TransportKind.IO_URING) || Fixtures.available(TransportKind.EPOLL))
                .as("io_uring or epoll loads on Linux").isTrue();
    }

    @Test
    void autoPrefersIoUringWhenTheKernelAllowsIt() {
        assumeTrue(Fixtures.available(TransportKind.IO_URING), "io_uring is unavailable here");

        // Without -Dportico.transport (the suite sets it to epoll, see Transport.AUTO_START_PROPERTY).
        Transport t = Transport.select(TransportKind.AUTO, null, kind -> null);

        assertThat(t.kind()).isEqualTo(TransportKind.IO_URING);
        assertThat(t.reason()).isEqualTo("io_uring: available");
    }

    @Test
    void thePortico_transportPropertyMakesAutoStartAtEpollOrNioAndLeavesANamedTransportAlone() {
        Transport epoll = Transport.select(TransportKind.AUTO, "epoll", kind -> null);
        assertThat(epoll.kind()).isEqualTo(TransportKind.EPOLL);
        assertThat(epoll.reason()).isEqualTo("epoll: auto starts at epoll (-Dportico.transport=epoll)");

        Transport noEpoll = Transport.select(TransportKind.AUTO, "epoll", kind -> new UnsatisfiedLinkError("no epoll"));
        assertThat(noEpoll.kind()).isEqualTo(TransportKind.NIO);
        assertThat(noEpoll.reason()).isEqualTo("nio: epoll unavailable (no epoll) (-Dportico.transport=epoll)");

        assertThat(Transport.select(TransportKind.AUTO, "NIO", kind -> null).kind()).isEqualTo(TransportKind.NIO);
        assertThat(Transport.select(TransportKind.AUTO, "io_uring", kind -> null).kind()).isEqualTo(TransportKind.IO_URING);
        assertThat(Transport.select(TransportKind.IO_URING, "epoll", kind -> null).kind()).isEqualTo(TransportKind.IO_URING);
        assertThatThrownBy(() -> Transport.select(TransportKind.AUTO, "kqueue", kind -> null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("portico.transport is 'kqueue'; it takes io_uring, epoll or nio");
    }

    @Test
    void autoFallsBackToEpollAndNamesWhyIoUringWasSkipped() {
        assumeTrue(Fixtures.available(TransportKind.EPOLL), "epoll is unavailable here");

        Transport t = Transport.select(TransportKind.AUTO, kind -> kind == TransportKind.IO_URING
                ? new IOException("io_uring_setup failed", new IllegalStateException("Operation not permitted"))
                : null);

        assertThat(t.kind()).isEqualTo(TransportKind.EPOLL);
        assertThat(t.reason()).isEqualTo("epoll: io_uring unavailable (io_uring_setup failed: Operation not permitted)");
        assertThat(t.serverChannelClass().getSimpleName()).isEqualTo("EpollServerSocketChannel");
    }

    @Test
    void autoFallsBackToNioWhenNoNativeTransportWorks() {
        Transport t = Transport.select(TransportKind.AUTO, kind -> new UnsatisfiedLinkError("no " + kind + " library"));

        assertThat(t.kind()).isEqualTo(TransportKind.NIO);
        assertThat(t.reason()).isEqualTo(
                "nio: io_uring unavailable (no IO_URING library); epoll unavailable (no EPOLL library)");
    }

    @Test
    void requestingAnUnavailableTransportFailsWithTheReason() {
        assertThatThrownBy(() -> Transport.select(TransportKind.IO_URING,
                kind -> new UnsupportedOperationException("blocked by seccomp")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("transport io_uring was requested but is unavailable: blocked by seccomp");
    }

    @Test
    void nioAlwaysWorksAndReportsWhatItCannotDo() throws Exception {
        Transport t = Transport.select(TransportKind.NIO);

        assertThat(t.kind()).isEqualTo(TransportKind.NIO);
        assertThat(t.reason()).isEqualTo("nio: requested in config");
        assertThat(t.serverChannelClass()).isEqualTo(NioServerSocketChannel.class);
        assertThat(t.socketChannelClass()).isEqualTo(NioSocketChannel.class);
        assertThat(t.supportsFastOpen()).isFalse();
        assertThat(t.supportsDeferAccept()).isFalse();
        assertThat(t.supportsFastOpenConnect()).isFalse();
        assertAcceptsConnections(t);
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL"})
    void aRequestedNativeTransportIsUsedWhenAvailable(TransportKind kind) throws Exception {
        Transport t = Fixtures.require(kind);

        assertThat(t.kind()).isEqualTo(kind);
        assertThat(t.reason()).isEqualTo(Transport.label(kind) + ": requested in config");
        assertThat(t.supportsReusePort()).isTrue();
        assertThat(t.supportsFastOpen()).isTrue();
        assertThat(t.supportsDeferAccept()).isTrue();
        assertThat(t.supportsKeepaliveTimers()).isTrue();
        assertAcceptsConnections(t);
    }

    @Test
    void eventLoopThreadsAreNamedFromOneAndKeepTheJvmAlive() throws Exception {
        MultiThreadIoEventLoopGroup group = Transport.select(TransportKind.NIO).newEventLoopGroup(2, "portico-worker");
        try {
            List<String> names = new ArrayList<>();
            for (EventExecutor loop : group) {
                Thread thread = loop.submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
                assertThat(thread.isDaemon()).isFalse();
                names.add(thread.getName());
            }
            assertThat(names).containsExactlyInAnyOrder("portico-worker-1", "portico-worker-2");
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static void assertAcceptsConnections(Transport t) throws IOException {
        MultiThreadIoEventLoopGroup group = t.newEventLoopGroup(1, "transport-test");
        Fixtures.Accepted accepted = new Fixtures.Accepted();
        try {
            Channel server = new ServerBootstrap().group(group).channel(t.serverChannelClass()).childHandler(accepted)
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).syncUninterruptibly().channel();
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(),
                    ((InetSocketAddress) server.localAddress()).getPort())) {
                Channel child = await().atMost(Duration.ofSeconds(10)).until(accepted.channels::peek, Objects::nonNull);
                assertThat(child.getClass().getSimpleName()).startsWith(
                        t.socketChannelClass().getSimpleName().replace("SocketChannel", ""));
                assertThat(client.isConnected()).isTrue();
            } finally {
                server.close().syncUninterruptibly();
            }
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
