package io.portico.server.listener;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.portico.server.config.TransportKind;
import io.portico.server.config.UpstreamSocketConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Upstream bootstrap options, read back from a connected client socket. */
class UpstreamOptionsTest {

    private ServerSocket backend;
    private MultiThreadIoEventLoopGroup group;
    private Channel client;

    @BeforeEach
    void startBackend() throws IOException {
        // The kernel completes the handshake from the accept queue; nothing needs to call accept().
        backend = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void tearDown() throws IOException {
        if (client != null) {
            client.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
        backend.close();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void upstreamConnectionsCarryTheConfiguredOptions(TransportKind kind) {
        Transport t = Fixtures.require(kind);
        UpstreamSocketConfig c = new UpstreamSocketConfig(true, Fixtures.KEEPALIVE_120_15_4, true);

        List<String> warnings = connect(t, c, Duration.ofSeconds(3));

        ChannelConfig cc = client.config();
        assertThat(cc.getOption(ChannelOption.CONNECT_TIMEOUT_MILLIS)).isEqualTo(3000);
        assertThat(cc.getOption(ChannelOption.TCP_NODELAY)).isTrue();
        assertThat(cc.getOption(ChannelOption.SO_KEEPALIVE)).isTrue();
        assertThat(cc.getOption(Fixtures.keepIdle(kind))).isEqualTo(120);
        assertThat(cc.getOption(Fixtures.keepInterval(kind))).isEqualTo(15);
        assertThat(cc.getOption(Fixtures.keepCount(kind))).isEqualTo(4);
        if (kind == TransportKind.NIO) {
            assertThat(warnings).containsExactly(
                    "upstream sockets: fast_open ignored: the nio transport cannot use TCP Fast Open");
        } else if (t.supportsFastOpenConnect()) {
            // Netty keeps this flag in the channel config and sends queued data with the SYN at
            // connect time; it never becomes a socket option, so there is nothing to getsockopt.
            assertThat(cc.getOption(ChannelOption.TCP_FASTOPEN_CONNECT)).isTrue();
            assertThat(warnings).isEmpty();
        } else {
            assertThat(warnings).singleElement().asString().contains("client-side TCP Fast Open disabled");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"IO_URING", "EPOLL", "NIO"})
    void disabledNodelayAndKeepaliveReachTheUpstreamSocket(TransportKind kind) {
        Transport t = Fixtures.require(kind);
        UpstreamSocketConfig c = new UpstreamSocketConfig(false, Fixtures.KEEPALIVE_OFF, false);

        List<String> warnings = connect(t, c, Duration.ofMillis(250));

        assertThat(client.config().getOption(ChannelOption.CONNECT_TIMEOUT_MILLIS)).isEqualTo(250);
        assertThat(client.config().getOption(ChannelOption.TCP_NODELAY)).isFalse();
        assertThat(client.config().getOption(ChannelOption.SO_KEEPALIVE)).isFalse();
        assertThat(warnings).isEmpty();
    }

    private List<String> connect(Transport t, UpstreamSocketConfig c, Duration connectTimeout) {
        group = t.newEventLoopGroup(1, "upstream-test");
        Bootstrap b = new Bootstrap().group(group).channel(t.socketChannelClass()).handler(new ChannelInboundHandlerAdapter());
        List<String> warnings = ListenerSockets.applyUpstreamOptions(b, c, connectTimeout, t);
        client = b.connect(InetAddress.getLoopbackAddress(), backend.getLocalPort()).syncUninterruptibly().channel();
        return warnings;
    }
}
