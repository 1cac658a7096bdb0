package io.portico.server.listener;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.portico.server.config.TransportKind;
import jdk.net.ExtendedSocketOptions;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.Locale;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The I/O transport the event loops run on (io_uring, epoll or NIO), with the channel classes and
 * socket options that go with it. Chosen once at startup by {@link #select(TransportKind)}.
 */
public final class Transport {

    private static final System.Logger LOG = System.getLogger("portico");

    private static final long PROBE_TIMEOUT_SECONDS = 5;

    private final TransportKind kind;
    private final String reason;
    private final TransportParts parts;

    private Transport(TransportKind kind, String reason, TransportParts parts) {
        this.kind = kind;
        this.reason = reason;
        this.parts = parts;
    }

    /**
     * The system property that makes {@link TransportKind#AUTO} start further down its list:
     * {@code epoll} (epoll, then NIO) or {@code nio}. For a whole JVM, where the config's
     * {@code transport: auto} stays as it is; a transport the config names is used regardless. The
     * test suite sets {@code epoll}: Netty 4.2.18's io_uring loop can write to native memory it
     * has freed while it shuts down (a glibc abort at thread exit, about once in 1,500 event-loop
     * shutdowns), and the suite starts and stops hundreds of servers in one JVM.
     */
    public static final String AUTO_START_PROPERTY = "portico.transport";

    /**
     * Picks the transport. {@link TransportKind#AUTO} takes the first of io_uring, epoll and NIO
     * that works here (loaded and able to bind a socket), from where {@link #AUTO_START_PROPERTY}
     * says when it is set; a specific kind that does not work fails.
     *
     * @throws IllegalStateException when a specific transport was requested and is unavailable
     */
    public static Transport select(TransportKind requested) {
        Transport t = select(requested, System.getProperty(AUTO_START_PROPERTY), Transport::probe);
        LOG.log(System.Logger.Level.DEBUG, "transport {0}", t.reason);
        return t;
    }

    /**
     * Selection with the availability check replaced, so fallbacks can be tested on a machine
     * where everything works. {@code unavailability} returns null when a kind works.
     */
    static Transport select(TransportKind requested, Function<TransportKind, Throwable> unavailability) {
        return select(requested, null, unavailability);
    }

    /** As {@link #select(TransportKind, Function)}, with {@code autoStart} as {@link #AUTO_START_PROPERTY}'s value. */
    static Transport select(TransportKind requested, String autoStart, Function<TransportKind, Throwable> unavailability) {
        if (requested == TransportKind.AUTO && autoStart != null && !autoStart.isBlank()) {
            String start = autoStart.trim().toLowerCase(Locale.ROOT);
            String why = " (-D" + AUTO_START_PROPERTY + "=" + start + ")";
            switch (start) {
                case "io_uring", "auto" -> {
                    // The usual order.
                }
                case "epoll" -> {
                    Throwable cause = unavailability.apply(TransportKind.EPOLL);
                    return cause == null ? create(TransportKind.EPOLL, "epoll: auto starts at epoll" + why)
                            : create(TransportKind.NIO, "nio: epoll unavailable (" + describe(cause) + ")" + why);
                }
                case "nio" -> {
                    return create(TransportKind.NIO, "nio: auto starts at nio" + why);
                }
                default -> throw new IllegalStateException(AUTO_START_PROPERTY + " is '" + autoStart
                        + "'; it takes io_uring, epoll or nio");
            }
        }
        if (requested != TransportKind.AUTO) {
            Throwable cause = requested == TransportKind.NIO ? null : unavailability.apply(requested);
            if (cause != null) {
                throw new IllegalStateException("transport " + label(requested)
                        + " was requested but is unavailable: " + describe(cause), cause);
            }
            return create(requested, label(requested) + ": requested in config");
        }
        StringBuilder skipped = new StringBuilder();
        for (TransportKind candidate : new TransportKind[] {TransportKind.IO_URING, TransportKind.EPOLL}) {
            Throwable cause = unavailability.apply(candidate);
            if (cause == null) {
                return create(candidate, label(candidate) + ": "
                        + (skipped.length() == 0 ? "available" : skipped.toString()));
            }
            if (skipped.length() > 0) {
                skipped.append("; ");
            }
            skipped.append(label(candidate)).append(" unavailable (").append(describe(cause)).append(')');
        }
        return create(TransportKind.NIO, "nio: " + skipped);
    }

    /** The transport in use; never {@link TransportKind#AUTO}. */
    public TransportKind kind() {
        return kind;
    }

    /** Why this transport was chosen, for the startup log, e.g. {@code "epoll: io_uring unavailable (...)"}. */
    public String reason() {
        return reason;
    }

    public IoHandlerFactory ioHandlerFactory() {
        return parts.factory();
    }

    public Class<? extends ServerSocketChannel> serverChannelClass() {
        return parts.serverChannel();
    }

    public Class<? extends SocketChannel> socketChannelClass() {
        return parts.socketChannel();
    }

    public Class<? extends DatagramChannel> datagramChannelClass() {
        return parts.datagramChannel();
    }

    /**
     * An event loop group on this transport whose non-daemon threads are named
     * {@code threadNamePrefix-1}, {@code threadNamePrefix-2}, and so on.
     */
    public MultiThreadIoEventLoopGroup newEventLoopGroup(int threads, String threadNamePrefix) {
        return new MultiThreadIoEventLoopGroup(threads, new NamedThreadFactory(threadNamePrefix), parts.factory());
    }

    /**
     * Whether a datagram channel here sends a {@code SegmentedDatagramPacket} as one UDP GSO send
     * (UDP_SEGMENT): epoll and io_uring, where the kernel supports it (probed through epoll's
     * native library, which io_uring's check does not do).
     */
    public boolean supportsSegmentedDatagrams() {
        if (kind != TransportKind.EPOLL && kind != TransportKind.IO_URING) {
            return false;
        }
        try {
            return io.netty.channel.epoll.EpollDatagramChannel.isSegmentedDatagramPacketSupported();
        } catch (LinkageError e) {
            return false;
        }
    }

    /** Whether listening sockets can share a port with SO_REUSEPORT. */
    public boolean supportsReusePort() {
        return parts.reusePort() != null;
    }

    /** Whether TCP_FASTOPEN can be set on listening sockets (the kernel sysctl is checked by {@link KernelChecks}). */
    public boolean supportsFastOpen() {
        return parts.fastOpen() != null;
    }

    /** Whether TCP_DEFER_ACCEPT can be set on listening sockets. */
    public boolean supportsDeferAccept() {
        return parts.deferAccept() != null;
    }

    /** Whether outgoing connections can use TCP Fast Open (native transport and client side enabled in the kernel). */
    public boolean supportsFastOpenConnect() {
        return parts.fastOpenConnect() != null;
    }

    /** Whether TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT can be set per socket. */
    public boolean supportsKeepaliveTimers() {
        return parts.keepIdle() != null;
    }

    ChannelOption<Boolean> reusePortOption() {
        return parts.reusePort();
    }

    ChannelOption<Integer> fastOpenOption() {
        return parts.fastOpen();
    }

    ChannelOption<Integer> deferAcceptOption() {
        return parts.deferAccept();
    }

    ChannelOption<Boolean> fastOpenConnectOption() {
        return parts.fastOpenConnect();
    }

    ChannelOption<Integer> keepIdleOption() {
        return parts.keepIdle();
    }

    ChannelOption<Integer> keepIntervalOption() {
        return parts.keepInterval();
    }

    ChannelOption<Integer> keepCountOption() {
        return parts.keepCount();
    }

    @Override
    public String toString() {
        return reason;
    }

    static String label(TransportKind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    private static Transport create(TransportKind kind, String reason) {
        return new Transport(kind, reason, parts(kind));
    }

    private static TransportParts parts(TransportKind kind) {
        if (kind == TransportKind.NIO) {
            return new TransportParts(NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class,
                    NioDatagramChannel.class, NioOptions.REUSE_PORT, null, null, null,
                    NioOptions.KEEP_IDLE, NioOptions.KEEP_INTERVAL, NioOptions.KEEP_COUNT);
        }
        return NativeTransports.parts(kind);
    }

    /** Null when the kind loaded and bound a loopback socket, otherwise why not. */
    private static Throwable probe(TransportKind kind) {
        if (kind == TransportKind.NIO) {
            return null;
        }
        Throwable cause = NativeTransports.unavailabilityCause(kind);
        if (cause != null) {
            return cause;
        }
        try {
            return smokeTest(NativeTransports.parts(kind));
        } catch (RuntimeException | LinkageError e) {
            return e;
        }
    }

    /**
     * The native library can load while the kernel still refuses the ring or its operations
     * (seccomp filters in containers do this to io_uring), so bind a loopback socket for real.
     */
    private static Throwable smokeTest(TransportParts parts) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new NamedThreadFactory("portico-probe"), parts.factory());
        try {
            ChannelFuture bound = new ServerBootstrap()
                    .group(group)
                    .channel(parts.serverChannel())
                    .childHandler(new ChannelInboundHandlerAdapter())
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            if (!bound.awaitUninterruptibly(PROBE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                return new IllegalStateException("binding a test socket did not finish within "
                        + PROBE_TIMEOUT_SECONDS + "s");
            }
            if (!bound.isSuccess()) {
                return bound.cause();
            }
            Channel channel = bound.channel();
            channel.close().awaitUninterruptibly(PROBE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return null;
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).awaitUninterruptibly(PROBE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static String describe(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        if (root != cause && root.getMessage() != null && !text.contains(root.getMessage())) {
            text = text + ": " + root.getMessage();
        }
        return text;
    }

    /** JDK socket options for NIO, present only where this JDK supports them on this OS. */
    private static final class NioOptions {
        static final ChannelOption<Boolean> REUSE_PORT;
        static final ChannelOption<Integer> KEEP_IDLE;
        static final ChannelOption<Integer> KEEP_INTERVAL;
        static final ChannelOption<Integer> KEEP_COUNT;

        static {
            SelectorProvider provider = SelectorProvider.provider();
            REUSE_PORT = supported(provider, true, StandardSocketOptions.SO_REUSEPORT);
            ChannelOption<Integer> idle = supported(provider, false, ExtendedSocketOptions.TCP_KEEPIDLE);
            ChannelOption<Integer> interval = supported(provider, false, ExtendedSocketOptions.TCP_KEEPINTERVAL);
            ChannelOption<Integer> count = supported(provider, false, ExtendedSocketOptions.TCP_KEEPCOUNT);
            // All three or none, so callers can test one of them.
            boolean all = idle != null && interval != null && count != null;
            KEEP_IDLE = all ? idle : null;
            KEEP_INTERVAL = all ? interval : null;
            KEEP_COUNT = all ? count : null;
        }

        private NioOptions() {
        }

        private static <T> ChannelOption<T> supported(SelectorProvider provider, boolean server, SocketOption<T> option) {
            try (NetworkChannel ch = server ? provider.openServerSocketChannel() : provider.openSocketChannel()) {
                return ch.supportedOptions().contains(option) ? NioChannelOption.of(option) : null;
            } catch (IOException e) {
                return null;
            }
        }
    }

    private static final class NamedThreadFactory implements ThreadFactory {
        private final String prefix;
        private final AtomicInteger counter = new AtomicInteger();

        NamedThreadFactory(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new FastThreadLocalThread(r, prefix + "-" + counter.incrementAndGet());
            t.setDaemon(false);
            return t;
        }
    }
}
