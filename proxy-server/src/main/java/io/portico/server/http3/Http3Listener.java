package io.portico.server.http3;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http3.DefaultHttp3SettingsFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ServerConnectionHandler;
import io.netty.handler.codec.http3.Http3SettingsFrame;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicChannelOption;
import io.netty.handler.codec.quic.QuicCodecDispatcher;
import io.netty.handler.codec.quic.QuicConnectionIdGenerator;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.portico.server.config.Http3ListenerConfig;
import io.portico.server.config.ListenerConfig;
import io.portico.server.http1.ListenerContext;
import io.portico.server.http1.ServerLifecycle;
import io.portico.server.http1.StreamExchanges;
import io.portico.server.l4.ClientAddress;
import io.portico.server.limits.ListenerGate;
import io.portico.server.listener.BoundListener;
import io.portico.server.listener.ListenerBinder;
import io.portico.server.listener.ListenerSockets;
import io.portico.server.listener.Transport;

import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A listener's HTTP/3 side: UDP sockets on the TCP side's port, Netty's QUIC codec and HTTP/3
 * connection handler, and for every request stream the {@link Http3StreamBridge} and the same
 * exchange handler HTTP/1.1 and HTTP/2 requests get, with the listener's context of the moment
 * (so a reload's routes apply to the next stream). With {@code reuse_port} on epoll or io_uring
 * there is one socket per event loop and {@link QuicCodecDispatcher} hands each packet to the
 * loop that owns its connection ID; a QUIC connection, its streams and their upstream connections
 * all live on that loop.
 */
public final class Http3Listener {

    private final BoundListener bound;
    /** The QUIC connections on these sockets, for {@link #drain()}. */
    private final ChannelGroup connections;
    private final Draining draining;

    private Http3Listener(BoundListener bound, ChannelGroup connections, Draining draining) {
        this.bound = bound;
        this.connections = connections;
        this.draining = draining;
    }

    /** Set once the listener drains: a connection that still arrives is told GOAWAY at once. */
    private static final class Draining {
        volatile boolean on;
    }

    /**
     * Binds the UDP sockets; blocks, so call it from outside the event loops.
     *
     * @param port     the port the TCP side is bound to (the one Alt-Svc advertises)
     * @param contexts the listener's context for each new stream
     * @param gate     the TCP side's connection caps, which QUIC connections count against too (null: none)
     * @param warnings receives socket options the transport cannot honour
     */
    public static Http3Listener bind(ListenerConfig lc, int port, Transport transport, EventLoopGroup workers,
                                     Supplier<ListenerContext> contexts, ServerLifecycle lifecycle,
                                     Http3Counters counters, ListenerGate gate, List<String> warnings) {
        QuicServerTls tls = new QuicServerTls(() -> contexts.get().tls());
        ChannelGroup open = new DefaultChannelGroup("portico-quic-" + lc.name(), GlobalEventExecutor.INSTANCE);
        Draining draining = new Draining();
        ChannelHandler connections = new ConnectionInitializer(contexts, lifecycle, counters, gate, open, draining);
        int sockets = lc.reusePort() && transport.supportsReusePort() ? ListenerBinder.executorCount(workers) : 1;
        GsoSwitch gso = lc.http3().gso() && transport.supportsSegmentedDatagrams() ? new GsoSwitch(lc.name()) : null;
        Supplier<Http3ListenerConfig> settings = () -> contexts.get().config().http3();
        ChannelHandler codecs = sockets == 1
                ? codec(lc.http3(), tls, connections, gso, new RetryTokens(settings, counters)).build()
                : new QuicCodecDispatcher() {
                    @Override
                    protected void initChannel(Channel channel, int localConnectionIdLength,
                                               QuicConnectionIdGenerator idGenerator) {
                        channel.pipeline().addLast(codec(lc.http3(), tls, connections, gso,
                                        new RetryTokens(settings, counters))
                                .localConnectionIdLength(localConnectionIdLength)
                                .connectionIdAddressGenerator(idGenerator)
                                .build());
                    }
                };
        DatagramTraffic traffic = new DatagramTraffic(contexts.get().metrics());
        ChannelHandler handler = new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(traffic);
                if (gso != null) {
                    ch.pipeline().addLast(gso.watch());
                }
                ch.pipeline().addLast(codecs);
            }
        };
        Bootstrap b = new Bootstrap().group(workers).channel(transport.datagramChannelClass()).handler(handler);
        warnings.addAll(ListenerSockets.applyDatagramOptions(b, lc, transport));
        InetSocketAddress address = new InetSocketAddress(lc.address().toResolved().getAddress(), port);
        return new Http3Listener(ListenerBinder.bind(b, lc.name() + " (http3)", address, sockets), open, draining);
    }

    /**
     * @param gso    UDP GSO for the listener's sends, or null for one datagram per call
     * @param tokens the codec's own address validation (its MAC is not shared between event loops)
     */
    private static QuicServerCodecBuilder codec(Http3ListenerConfig c, QuicServerTls tls, ChannelHandler connections,
                                                GsoSwitch gso, RetryTokens tokens) {
        long streamWindow = c.initialMaxStreamData().bytes();
        QuicServerCodecBuilder b = Http3.newQuicServerCodecBuilder();
        if (gso != null) {
            b.option(QuicChannelOption.SEGMENTED_DATAGRAM_PACKET_ALLOCATOR, gso);
        }
        return b
                .sslEngineProvider(tls::newEngine)
                .maxIdleTimeout(c.idleTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .initialMaxData(c.initialMaxData().bytes())
                .initialMaxStreamDataBidirectionalLocal(streamWindow)
                .initialMaxStreamDataBidirectionalRemote(streamWindow)
                .initialMaxStreamsBidirectional(c.maxStreams())
                // Retry as http3.retry says (by default once retry_threshold handshakes are in progress).
                .tokenHandler(tokens)
                .handler(connections);
    }

    /** Where the first UDP socket is bound. */
    public InetSocketAddress localAddress() {
        return bound.localAddress();
    }

    /**
     * The listener is going (a reload removed or moved it): every QUIC connection on it gets
     * GOAWAY, its streams in flight finish, and it closes; the sockets stay open for them until
     * {@link #close()}.
     */
    public void drain() {
        draining.on = true;
        for (Channel ch : connections) {
            ch.pipeline().fireUserEventTriggered(ServerLifecycle.DRAIN);
        }
    }

    /** QUIC connections still open on these sockets. */
    public int openConnections() {
        return connections.size();
    }

    /**
     * Closes the QUIC connections still open (CONNECTION_CLOSE: H3_NO_ERROR for an idle one,
     * H3_INTERNAL_ERROR for one whose streams are cut), waits a moment for those to go out, and
     * closes the UDP sockets. Without the first step a client learnt nothing: its connection went
     * silent and its requests hung until its own idle timeout.
     */
    public void close() {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel ch : connections) {
            closing.add(ch.closeFuture());
            ch.pipeline().fireUserEventTriggered(ServerLifecycle.CLOSE_NOW);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        for (ChannelFuture f : closing) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !f.awaitUninterruptibly(left, TimeUnit.NANOSECONDS)) {
                break;
            }
        }
        bound.closeAsync().join();
    }

    /** Sets up each new QUIC connection: its guard and Netty's HTTP/3 connection handler. */
    private static final class ConnectionInitializer extends ChannelInitializer<QuicChannel> {

        private final Supplier<ListenerContext> contexts;
        private final ServerLifecycle lifecycle;
        private final Http3Counters counters;
        private final ListenerGate gate;
        private final ChannelGroup open;
        private final Draining draining;

        ConnectionInitializer(Supplier<ListenerContext> contexts, ServerLifecycle lifecycle, Http3Counters counters,
                              ListenerGate gate, ChannelGroup open, Draining draining) {
            this.gate = gate;
            this.contexts = contexts;
            this.lifecycle = lifecycle;
            this.counters = counters;
            this.open = open;
            this.draining = draining;
        }

        @Override
        protected void initChannel(QuicChannel ch) {
            if (counters.handshakesInProgress() >= contexts.get().config().http3().maxHandshakes()) {
                // Before the handshake begins (the Initial is not processed yet): no TLS work, no
                // state beyond this channel, and nothing is answered; the client sends its Initial
                // again, or falls back to TCP. Retry has kept spoofed senders from getting this far.
                counters.handshakeRefused();
                ch.close();
                return;
            }
            counters.handshakeStarted();
            open.add(ch);
            Http3ConnectionGuard guard = new Http3ConnectionGuard(counters, lifecycle, () -> draining.on, gate,
                    () -> contexts.get().config().http().keepaliveRequests(),
                    () -> contexts.get().config().http().keepaliveTimeout().toNanos(),
                    // The TCP side's TLS handshake deadline: QUIC handshakes follow it too (HTTP/3 needs tls).
                    contexts.get().config().tls().handshakeTimeout().toNanos());
            Http3SettingsFrame settings = new DefaultHttp3SettingsFrame();
            // The limits of the config of the moment: a reload that keeps the UDP side applies to the next connection.
            // Netty's codec closes the whole connection (H3_EXCESSIVE_LOAD) past this, so it gets a
            // multiple of the limit served; the stream bridge answers 431 between the two.
            settings.put(Http3SettingsFrame.HTTP3_SETTINGS_MAX_FIELD_SECTION_SIZE,
                    contexts.get().config().http2().maxHeaderListSize().bytes() * Http3StreamBridge.CODEC_LIMIT_FACTOR);
            ch.pipeline().addLast("h3-guard", guard);
            ch.pipeline().addLast("h3", new Http3ServerConnectionHandler(new StreamInitializer(guard, ch), null, null,
                    settings, true));
        }

        /** Each request stream: AUTO_READ off (its window opens as its exchange reads), bridge, exchange. */
        private final class StreamInitializer extends ChannelInitializer<QuicStreamChannel> {

            private final Http3ConnectionGuard guard;
            private final QuicChannel connection;
            private Identity identity;

            StreamInitializer(Http3ConnectionGuard guard, QuicChannel connection) {
                this.guard = guard;
                this.connection = connection;
            }

            @Override
            protected void initChannel(QuicStreamChannel stream) {
                stream.config().setAutoRead(false);
                stream.config().setAllowHalfClosure(true);
                if (!guard.streamOpened(stream)) {
                    return;
                }
                ClientAddress.remember(stream, (InetSocketAddress) connection.remoteSocketAddress(),
                        (InetSocketAddress) connection.localSocketAddress());
                if (identity == null) {
                    identity = Identity.of(connection);
                }
                ListenerContext context = contexts.get();
                // Before Netty's codec: the buffer budget holds the stream's reads under pressure and
                // counts the encoded bytes it has waiting for QUIC.
                stream.pipeline().addFirst("h3-gate", new Http3StreamGate(context.bufferBudget(), lifecycle));
                // A stream stuck on its client is reset (the exchange decides, as for HTTP/2 streams).
                stream.pipeline().addLast("h3-idle", new IdleStateHandler(0, 0,
                        context.config().http3().streamIdleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                stream.pipeline().addLast("h3-bridge", new Http3StreamBridge(counters,
                        context.config().http2().maxHeaderListSize().bytes(),
                        context.config().http().headerTimeout().toNanos(),
                        context.config().http().bodyTimeout().toNanos(),
                        context.config().http().minBodyRate().bytes()));
                stream.pipeline().addLast("proxy", StreamExchanges.http3(context, identity.sni,
                        identity.subject, identity.fingerprint));
            }
        }
    }

    /** The TLS identity of a QUIC connection, read once after its handshake. */
    private record Identity(String sni, String subject, String fingerprint) {

        static Identity of(QuicChannel connection) {
            javax.net.ssl.SSLEngine engine = connection.sslEngine();
            String sni = null;
            String subject = null;
            String fingerprint = null;
            if (engine != null) {
                javax.net.ssl.SSLSession session = engine.getSession();
                if (session instanceof javax.net.ssl.ExtendedSSLSession ext) {
                    for (javax.net.ssl.SNIServerName n : ext.getRequestedServerNames()) {
                        if (n instanceof javax.net.ssl.SNIHostName host) {
                            sni = host.getAsciiName().toLowerCase(java.util.Locale.ROOT);
                        }
                    }
                }
                try {
                    java.security.cert.Certificate[] chain = session.getPeerCertificates();
                    if (chain.length > 0 && chain[0] instanceof X509Certificate leaf) {
                        subject = leaf.getSubjectX500Principal().getName();
                        fingerprint = StreamExchanges.fingerprint(leaf);
                    }
                } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
                    // no client certificate: no identity to pass on
                }
            }
            return new Identity(sni, subject, fingerprint);
        }
    }
}
