package io.portico.server.listener;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.util.internal.PlatformDependent;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.TcpKeepaliveConfig;
import io.portico.server.config.TransportKind;
import io.portico.server.config.UpstreamSocketConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies the socket options from config to bootstraps, once per listener or upstream pool.
 * Options the transport cannot honour become warnings for the startup log rather than failures,
 * so one config works on every platform.
 */
public final class ListenerSockets {

    /**
     * Whether Netty's socket channels (NIO, epoll, io_uring) turn TCP_NODELAY on by themselves when
     * they are made. Then setting it on again is a second system call per connection for nothing,
     * so only a value that differs is set.
     */
    private static final boolean NODELAY_BY_DEFAULT = PlatformDependent.canEnableTcpNoDelayByDefault();

    private ListenerSockets() {
    }

    /**
     * Sets the listening socket's options ({@code option}) and the accepted connections' options
     * ({@code childOption}) on {@code b}.
     *
     * @return one human-readable warning per configured option the transport cannot apply
     */
    public static List<String> applyServerOptions(ServerBootstrap b, ListenerConfig c, Transport t) {
        List<String> warnings = new ArrayList<>();
        String who = "listener " + c.name() + ": ";
        String transport = Transport.label(t.kind());

        b.option(ChannelOption.SO_BACKLOG, c.backlog());
        b.option(ChannelOption.SO_REUSEADDR, Boolean.TRUE);
        if (c.reusePort()) {
            if (t.supportsReusePort()) {
                b.option(t.reusePortOption(), Boolean.TRUE);
            } else {
                warnings.add(who + "reuse_port ignored: the " + transport
                        + " transport cannot set SO_REUSEPORT here, so one socket accepts for all event loops");
            }
        }
        if (c.fastOpen() > 0) {
            if (t.supportsFastOpen()) {
                b.option(t.fastOpenOption(), c.fastOpen());
            } else {
                warnings.add(who + "fast_open " + c.fastOpen() + " ignored: the " + transport
                        + " transport cannot set TCP_FASTOPEN");
            }
        }
        if (!c.deferAccept().isZero()) {
            if (t.supportsDeferAccept()) {
                b.option(t.deferAcceptOption(), seconds(c.deferAccept()));
            } else {
                warnings.add(who + "defer_accept " + c.deferAccept().toSeconds() + "s ignored: the " + transport
                        + " transport cannot set TCP_DEFER_ACCEPT");
            }
        }
        if (c.receiveBuffer().bytes() > 0) {
            // Set on the listening socket too: the window scale of an accepted connection is fixed
            // during the handshake, before any child option can run.
            b.option(ChannelOption.SO_RCVBUF, c.receiveBuffer().intBytes());
            b.childOption(ChannelOption.SO_RCVBUF, c.receiveBuffer().intBytes());
        }
        if (c.sendBuffer().bytes() > 0) {
            b.childOption(ChannelOption.SO_SNDBUF, c.sendBuffer().intBytes());
        }
        if (c.tcpNodelay() != NODELAY_BY_DEFAULT) {
            b.childOption(ChannelOption.TCP_NODELAY, c.tcpNodelay());
        }
        applyKeepalive(b::childOption, c.tcpKeepalive(), t, who, warnings);
        return List.copyOf(warnings);
    }

    /**
     * Sets a UDP listener's socket options on {@code b}: SO_REUSEPORT (one socket per event loop)
     * and the buffer sizes. The TCP-only keys (backlog, fast_open, tcp_nodelay, tcp_keepalive,
     * defer_accept) do not apply to datagrams.
     *
     * @return one human-readable warning per configured option the transport cannot apply
     */
    public static List<String> applyDatagramOptions(Bootstrap b, ListenerConfig c, Transport t) {
        List<String> warnings = new ArrayList<>();
        b.option(ChannelOption.SO_REUSEADDR, Boolean.TRUE);
        if (c.reusePort()) {
            if (t.supportsReusePort()) {
                b.option(t.reusePortOption(), Boolean.TRUE);
            } else {
                warnings.add("listener " + c.name() + ": reuse_port ignored: the " + Transport.label(t.kind())
                        + " transport cannot set SO_REUSEPORT here, so one socket receives for all event loops");
            }
        }
        if (c.receiveBuffer().bytes() > 0) {
            b.option(ChannelOption.SO_RCVBUF, c.receiveBuffer().intBytes());
        }
        if (c.sendBuffer().bytes() > 0) {
            b.option(ChannelOption.SO_SNDBUF, c.sendBuffer().intBytes());
        }
        return List.copyOf(warnings);
    }

    /**
     * Sets the options of connections to backends on {@code b}.
     *
     * @param connectTimeout how long a connect may take; zero for no limit
     * @return one human-readable warning per configured option the transport cannot apply
     */
    public static List<String> applyUpstreamOptions(Bootstrap b, UpstreamSocketConfig c, Duration connectTimeout,
                                                    Transport t) {
        List<String> warnings = new ArrayList<>();
        String who = "upstream sockets: ";
        b.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
        if (c.tcpNodelay() != NODELAY_BY_DEFAULT) {
            b.option(ChannelOption.TCP_NODELAY, c.tcpNodelay());
        }
        applyKeepalive(b::option, c.tcpKeepalive(), t, who, warnings);
        if (c.fastOpen()) {
            if (t.supportsFastOpenConnect()) {
                b.option(t.fastOpenConnectOption(), Boolean.TRUE);
            } else {
                warnings.add(who + "fast_open ignored: " + (t.kind() == TransportKind.NIO
                        ? "the nio transport cannot use TCP Fast Open"
                        : "the kernel has client-side TCP Fast Open disabled (net.ipv4.tcp_fastopen lacks bit 0x1)"));
            }
        }
        return List.copyOf(warnings);
    }

    private static void applyKeepalive(OptionSink sink, TcpKeepaliveConfig k, Transport t, String who,
                                       List<String> warnings) {
        if (k.enabled()) {
            // Off is every new socket's default: setting it would be a system call per connection.
            sink.set(ChannelOption.SO_KEEPALIVE, true);
        }
        boolean timers = !k.idle().isZero() || !k.interval().isZero() || k.count() > 0;
        if (!timers) {
            return;
        }
        if (!k.enabled()) {
            warnings.add(who + "tcp_keepalive timers ignored because tcp_keepalive.enabled is false");
            return;
        }
        if (!t.supportsKeepaliveTimers()) {
            warnings.add(who + "tcp_keepalive timers ignored: the " + Transport.label(t.kind())
                    + " transport cannot set TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT here; the kernel defaults apply");
            return;
        }
        if (!k.idle().isZero()) {
            sink.set(t.keepIdleOption(), seconds(k.idle()));
        }
        if (!k.interval().isZero()) {
            sink.set(t.keepIntervalOption(), seconds(k.interval()));
        }
        if (k.count() > 0) {
            sink.set(t.keepCountOption(), k.count());
        }
    }

    /** Whole seconds, rounding a positive sub-second value up so it does not turn the option off. */
    private static int seconds(Duration d) {
        long s = d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0);
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, s));
    }

    /** Where an option goes: a server's child options or a client's options. */
    @FunctionalInterface
    private interface OptionSink {
        <T> Object set(ChannelOption<T> option, T value);
    }
}
