package io.portico.server.listener;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.config.ByteSize;
import io.portico.server.config.HostPort;
import io.portico.server.config.HttpListenerConfig;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.TcpKeepaliveConfig;
import io.portico.server.config.TransportKind;
import jdk.net.ExtendedSocketOptions;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Shared test helpers: configs, transport assumptions, and option constants to read sockets back. */
final class Fixtures {

    static final TcpKeepaliveConfig KEEPALIVE_120_15_4 =
            new TcpKeepaliveConfig(true, Duration.ofSeconds(120), Duration.ofSeconds(15), 4);
    static final TcpKeepaliveConfig KEEPALIVE_OFF =
            new TcpKeepaliveConfig(false, Duration.ZERO, Duration.ZERO, 0);
    static final HttpListenerConfig HTTP =
            new HttpListenerConfig(new ByteSize(8192), new ByteSize(32768), 100, Duration.ofSeconds(60),
                    Duration.ofSeconds(60), new ByteSize(0), Duration.ofSeconds(60), Duration.ofSeconds(75), 1000, false);
    static final io.portico.server.config.ListenerLimitsConfig NO_LIMITS = new io.portico.server.config.ListenerLimitsConfig(
            0, 0, new io.portico.server.config.AccessConfig(java.util.List.of(), java.util.List.of()), null);

    static final io.portico.server.config.ListenerProtocol HTTP_PROTOCOL = io.portico.server.config.ListenerProtocol.HTTP;
    static final io.portico.server.config.StreamListenerConfig STREAM = new io.portico.server.config.StreamListenerConfig(
            Duration.ofMinutes(10), java.util.Map.of(), Duration.ofSeconds(30), 4096, false, true);
    static final io.portico.server.config.ProxyProtocolListenerConfig NO_PROXY_PROTOCOL =
            new io.portico.server.config.ProxyProtocolListenerConfig(false, java.util.List.of());

    /** Raw getsockopt(IPPROTO_TCP, TCP_FASTOPEN): its own instance, not the one production code sets with. */
    static final ChannelOption<Integer> KERNEL_TCP_FASTOPEN = new IntegerUnixChannelOption("TCP_FASTOPEN", 6, 23);

    private Fixtures() {
    }

    static ListenerConfig listener(String name, int backlog, boolean reusePort, int fastOpen, boolean nodelay,
                                   TcpKeepaliveConfig keepalive, Duration deferAccept, long rcvbuf, long sndbuf) {
        return new ListenerConfig(name, new HostPort("127.0.0.1", 0), backlog, reusePort, fastOpen, nodelay,
                keepalive, deferAccept, new ByteSize(rcvbuf), new ByteSize(sndbuf), HTTP, null,
                new io.portico.server.config.WebSocketListenerConfig(0, 0), null, null, HTTP_PROTOCOL, null, STREAM, NO_PROXY_PROTOCOL, NO_LIMITS);
    }

    static ListenerConfig plainListener(String name, boolean reusePort) {
        return listener(name, 128, reusePort, 0, true, KEEPALIVE_OFF, Duration.ZERO, 0, 0);
    }

    /** The transport, or the test is skipped when a native one really cannot load here. */
    static Transport require(TransportKind kind) {
        if (kind != TransportKind.NIO) {
            Throwable cause = NativeTransports.unavailabilityCause(kind);
            assumeTrue(cause == null, () -> kind + " is unavailable here: " + cause);
        }
        return Transport.select(kind);
    }

    static boolean available(TransportKind kind) {
        return kind == TransportKind.NIO || NativeTransports.unavailabilityCause(kind) == null;
    }

    static ChannelOption<Integer> keepIdle(TransportKind kind) {
        return switch (kind) {
            case IO_URING -> IoUringChannelOption.TCP_KEEPIDLE;
            case EPOLL -> EpollChannelOption.TCP_KEEPIDLE;
            default -> NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE);
        };
    }

    static ChannelOption<Integer> keepInterval(TransportKind kind) {
        return switch (kind) {
            case IO_URING -> IoUringChannelOption.TCP_KEEPINTVL;
            case EPOLL -> EpollChannelOption.TCP_KEEPINTVL;
            default -> NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL);
        };
    }

    static ChannelOption<Integer> keepCount(TransportKind kind) {
        return switch (kind) {
            case IO_URING -> IoUringChannelOption.TCP_KEEPCNT;
            case EPOLL -> EpollChannelOption.TCP_KEEPCNT;
            default -> NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT);
        };
    }

    static ChannelOption<Boolean> reusePort(TransportKind kind) {
        return kind == TransportKind.NIO ? NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT) : UnixChannelOption.SO_REUSEPORT;
    }

    static ChannelOption<Integer> deferAccept(TransportKind kind) {
        return switch (kind) {
            case IO_URING -> IoUringChannelOption.TCP_DEFER_ACCEPT;
            case EPOLL -> EpollChannelOption.TCP_DEFER_ACCEPT;
            default -> throw new IllegalArgumentException("NIO has no TCP_DEFER_ACCEPT");
        };
    }

    /**
     * The accept queue length of each listening socket on {@code port}, from the Send-Q column of
     * {@code ss -ltn}; the test is skipped when {@code ss} is not installed.
     */
    static List<Integer> backlogsFromSs(int port) throws IOException, InterruptedException {
        Process ss;
        try {
            ss = new ProcessBuilder("ss", "-ltnH", "sport", "=", ":" + port).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "ss is not installed: " + e.getMessage());
            throw e;
        }
        String out;
        try (InputStream in = ss.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assumeTrue(ss.waitFor(10, TimeUnit.SECONDS) && ss.exitValue() == 0, () -> "ss failed: " + out);
        List<Integer> backlogs = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] cols = line.trim().split("\\s+");
            if (cols.length >= 4 && cols[0].equals("LISTEN")) {
                backlogs.add(Integer.parseInt(cols[2]));
            }
        }
        return backlogs;
    }

    static long somaxconn() throws IOException {
        Path p = Path.of("/proc/sys/net/core/somaxconn");
        // Not Files.readString: it reads /proc/sys one byte at a time and gets only the first digit.
        return Files.exists(p) ? Long.parseLong(Files.readAllLines(p).get(0).trim()) : Long.MAX_VALUE;
    }

    /** Records every accepted connection and discards what it reads. */
    @ChannelHandler.Sharable
    static final class Accepted extends ChannelInboundHandlerAdapter {
        final ConcurrentLinkedQueue<Channel> channels = new ConcurrentLinkedQueue<>();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channels.add(ctx.channel());
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }
}
