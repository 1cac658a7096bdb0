package io.portico.tls;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.internal.tcnative.SSL;
import io.netty.util.ReferenceCountUtil;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** Real TLS servers and clients on loopback sockets, reporting what each side saw of the handshake. */
final class TlsHarness implements AutoCloseable {

    private static final long TIMEOUT_SECONDS = 10;

    /** One side's view of a finished handshake; {@code failure} set when it failed. */
    record Handshake(Throwable failure, String protocol, String cipher, String alpn, X509Certificate peerCertificate,
                     byte[] sessionId, Boolean reused, String sniHostname, byte[] ocspResponse) {
        boolean succeeded() {
            return failure == null;
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    void shutdown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Override
    public void close() {
        shutdown();
    }

    /** A listening server; every accepted connection's handshake lands in {@link Server#next()}. */
    final class Server implements AutoCloseable {
        private final Channel channel;
        private final BlockingQueue<Handshake> handshakes = new LinkedBlockingQueue<>();

        Server(ServerTls tls) {
            channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(tls.newHandler(), new Probe(handshakes, false));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        Handshake next() throws InterruptedException {
            Handshake handshake = handshakes.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (handshake == null) {
                throw new AssertionError("the server saw no handshake end within " + TIMEOUT_SECONDS + " s");
            }
            return handshake;
        }

        @Override
        public void close() {
            channel.close().syncUninterruptibly();
        }
    }

    Server serve(ServerTls tls) {
        return new Server(tls);
    }

    /** Connects to 127.0.0.1:port with the handler the factory makes, and returns the client's view of the handshake. */
    Handshake connect(int port, Function<Channel, SslHandler> handler) throws InterruptedException {
        BlockingQueue<Handshake> result = new LinkedBlockingQueue<>();
        Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(handler.apply(ch), new Probe(result, true));
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", port)).syncUninterruptibly().channel();
        try {
            Handshake handshake = result.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (handshake == null) {
                throw new AssertionError("the client saw no handshake end within " + TIMEOUT_SECONDS + " s");
            }
            return handshake;
        } finally {
            channel.close().syncUninterruptibly();
        }
    }

    /** Connects and waits for the client's handshake to finish (successfully or not); the caller closes the channel. */
    Channel open(int port, Function<Channel, SslHandler> handler) {
        Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(handler.apply(ch), new Probe(new LinkedBlockingQueue<>(), true));
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", port)).syncUninterruptibly().channel();
        channel.pipeline().get(SslHandler.class).handshakeFuture().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return channel;
    }

    /**
     * Records the handshake outcome once and swallows what follows a failure. The server echoes what
     * it reads; the client sends a byte after its handshake and reports success only when the echo
     * is back, so that TLS 1.3 session tickets (sent after the handshake) have arrived and a server
     * that rejects the client after the client's Finished (TLS 1.3 client auth) shows as a failure.
     */
    private static final class Probe extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Handshake> sink;
        private final boolean client;
        private boolean reported;
        private Handshake pending;

        Probe(BlockingQueue<Handshake> sink, boolean client) {
            this.sink = sink;
            this.client = client;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof SslHandshakeCompletionEvent) {
                SslHandshakeCompletionEvent completion = (SslHandshakeCompletionEvent) event;
                if (!completion.isSuccess()) {
                    report(failure(completion.cause(), ctx.channel()));
                } else if (client) {
                    pending = success(ctx.channel());
                    ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('?'));
                } else {
                    report(success(ctx.channel()));
                }
            }
            ctx.fireUserEventTriggered(event);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (client) {
                ReferenceCountUtil.release(msg);
                if (pending != null) {
                    report(pending);
                }
            } else {
                ctx.writeAndFlush(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            report(failure(cause, ctx.channel()));
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            report(failure(new IllegalStateException("closed before the handshake finished"), ctx.channel()));
            ctx.fireChannelInactive();
        }

        private void report(Handshake handshake) {
            if (!reported) {
                reported = true;
                sink.add(handshake);
            }
        }

        private Handshake success(Channel channel) {
            SslHandler ssl = channel.pipeline().get(SslHandler.class);
            SSLEngine engine = ssl.engine();
            SSLSession session = engine.getSession();
            X509Certificate peer = null;
            if (!client) {
                peer = ServerTls.clientCertificate(channel);
            } else {
                try {
                    peer = (X509Certificate) session.getPeerCertificates()[0];
                } catch (Exception e) {
                    // not reached: servers always send a certificate here
                }
            }
            Boolean reused = null;
            byte[] ocsp = null;
            if (engine instanceof ReferenceCountedOpenSslEngine) {
                ReferenceCountedOpenSslEngine openSsl = (ReferenceCountedOpenSslEngine) engine;
                reused = SSL.isSessionReused(openSsl.sslPointer());
                try {
                    ocsp = client ? openSsl.getOcspResponse() : null;
                } catch (IllegalStateException e) {
                    // the client context did not ask for OCSP
                }
            }
            return new Handshake(null, session.getProtocol(), session.getCipherSuite(), ssl.applicationProtocol(), peer,
                    session.getId(), reused, client ? null : ServerTls.sniHostname(channel), ocsp);
        }

        private Handshake failure(Throwable cause, Channel channel) {
            return new Handshake(cause, null, null, null, null, null, null,
                    client ? null : ServerTls.sniHostname(channel), null);
        }
    }
}
