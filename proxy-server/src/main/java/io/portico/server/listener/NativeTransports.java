package io.portico.server.listener;

import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.unix.UnixChannelOption;
import io.portico.server.config.TransportKind;

/**
 * Loads Netty's io_uring and epoll transports by name. The Netty BOM scopes their jars as runtime
 * dependencies, and a build for another OS may leave them out, so nothing here links to them at
 * compile time; both follow the same naming ({@code Epoll}, {@code EpollIoHandler},
 * {@code EpollServerSocketChannel}, {@code EpollChannelOption}, ...).
 */
final class NativeTransports {

    /** Linux {@code IPPROTO_TCP} and {@code TCP_FASTOPEN}, identical on every Linux architecture. */
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_FASTOPEN = 23;

    /**
     * TCP_FASTOPEN on a listening socket as a raw option: Netty's own option is only applied when
     * net.ipv4.tcp_fastopen enabled the server side when the JVM started, whereas the kernel takes
     * the option regardless and honours it as soon as the sysctl allows, as nginx relies on.
     */
    static final ChannelOption<Integer> RAW_TCP_FASTOPEN =
            new IntegerUnixChannelOption("TCP_FASTOPEN", IPPROTO_TCP, TCP_FASTOPEN);

    private NativeTransports() {
    }

    /** Null when the transport's native library loaded, otherwise why it did not. */
    static Throwable unavailabilityCause(TransportKind kind) {
        try {
            return (Throwable) type(kind, "").getMethod("unavailabilityCause").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return e;
        }
    }

    /** The parts of an available native transport. */
    static TransportParts parts(TransportKind kind) {
        try {
            boolean fastOpenClient = (Boolean) type(kind, "").getMethod("isTcpFastOpenClientSideAvailable").invoke(null);
            Class<?> options = type(kind, "ChannelOption");
            return new TransportParts(
                    (IoHandlerFactory) type(kind, "IoHandler").getMethod("newFactory").invoke(null),
                    type(kind, "ServerSocketChannel").asSubclass(ServerSocketChannel.class),
                    type(kind, "SocketChannel").asSubclass(SocketChannel.class),
                    type(kind, "DatagramChannel").asSubclass(DatagramChannel.class),
                    UnixChannelOption.SO_REUSEPORT,
                    RAW_TCP_FASTOPEN,
                    option(options, "TCP_DEFER_ACCEPT"),
                    fastOpenClient ? ChannelOption.TCP_FASTOPEN_CONNECT : null,
                    option(options, "TCP_KEEPIDLE"),
                    option(options, "TCP_KEEPINTVL"),
                    option(options, "TCP_KEEPCNT"));
        } catch (ReflectiveOperationException | LinkageError | ClassCastException e) {
            throw new IllegalStateException("cannot load the " + Transport.label(kind) + " transport: " + e, e);
        }
    }

    private static Class<?> type(TransportKind kind, String suffix) throws ClassNotFoundException {
        String name = switch (kind) {
            case IO_URING -> "io.netty.channel.uring.IoUring";
            case EPOLL -> "io.netty.channel.epoll.Epoll";
            default -> throw new IllegalArgumentException("not a native transport: " + kind);
        };
        return Class.forName(name + suffix, true, NativeTransports.class.getClassLoader());
    }

    @SuppressWarnings("unchecked")
    private static <T> ChannelOption<T> option(Class<?> holder, String field) throws ReflectiveOperationException {
        return (ChannelOption<T>) holder.getField(field).get(null);
    }
}
