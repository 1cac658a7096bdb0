package io.portico.loadtests.h3;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import org.HdrHistogram.Histogram;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/3 load generator for {@code bin/bench --suite h2}, as h2load is for HTTP/2: Debian's
 * h2load is built without QUIC. One event loop; CONNECTIONS QUIC connections (one UDP socket
 * each), each keeping STREAMS GET requests in flight (a closed loop: a request starts when one
 * ends). At the end one line in the format bin/bench reads from wrk and h2load:
 * <pre>
 *   BENCH requests=N duration_us=N bytes=N p50_us=N p90_us=N p99_us=N p999_us=N max_us=N
 *         connect_err=N read_err=N write_err=0 status_err=N timeout_err=0
 * </pre>
 * The server's certificate is not verified: the load runs against a test certificate on
 * loopback, and verification is not what is measured. Usage:
 * {@code H3Load HOST PORT PATH CONNECTIONS STREAMS SECONDS}. Exit status 0, or 1 when no request
 * completed or a connection failed.
 */
public final class H3Load {

    private final String authority;
    private final String path;
    private final int streams;
    private final Histogram latencies = new Histogram(60_000_000L, 3);
    private volatile boolean running = true;
    private long requests;
    private long bytes;
    private long statusErrors;
    private long readErrors;

    private H3Load(String host, int port, String path, int streams) {
        this.authority = host + ":" + port;
        this.path = path;
        this.streams = streams;
    }

    public static void main(String[] args) throws Exception {
        InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
        if (args.length != 6) {
            System.err.println("usage: H3Load HOST PORT PATH CONNECTIONS STREAMS SECONDS");
            System.exit(2);
        }
        int port = Integer.parseInt(args[1]);
        int connections = Integer.parseInt(args[3]);
        int seconds = Integer.parseInt(args[5]);
        H3Load load = new H3Load(args[0], port, args[2], Integer.parseInt(args[4]));
        System.exit(load.run(new InetSocketAddress(args[0], port), connections, seconds));
    }

    private int run(InetSocketAddress server, int connections, int seconds) throws Exception {
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        QuicSslContext tls = QuicSslContextBuilder.forClient()
                .trustManager(InsecureTrustManagerFactory.INSTANCE)
                .applicationProtocols(Http3.supportedApplicationProtocols())
                .build();
        List<Channel> sockets = new ArrayList<>();
        List<QuicChannel> quics = new ArrayList<>();
        int failedConnections = 0;
        try {
            for (int i = 0; i < connections; i++) {
                ChannelHandler codec = Http3.newQuicClientCodecBuilder()
                        .sslEngineProvider(ch -> tls.newEngine(ch.alloc(), server.getHostString(), server.getPort()))
                        .maxIdleTimeout(30, TimeUnit.SECONDS)
                        .initialMaxData(64 << 20)
                        .initialMaxStreamDataBidirectionalLocal(4 << 20)
                        .build();
                Channel udp = new Bootstrap().group(group)
                        .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                        .handler(codec).bind(0).sync().channel();
                sockets.add(udp);
                try {
                    quics.add(QuicChannel.newBootstrap(udp).handler(new Http3ClientConnectionHandler())
                            .remoteAddress(server).connect().get(10, TimeUnit.SECONDS));
                } catch (Exception e) {
                    failedConnections++;
                }
            }
            System.out.println("open " + quics.size());
            long start = System.nanoTime();
            for (QuicChannel quic : quics) {
                quic.eventLoop().execute(() -> {
                    for (int s = 0; s < streams; s++) {
                        next(quic);
                    }
                });
            }
            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            int failed = failedConnections;
            // The counters belong to the event loop: stop and read them there.
            long completed = group.next().submit(() -> {
                running = false;
                System.out.printf("BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d"
                                + " max_us=%d connect_err=%d read_err=%d write_err=0 status_err=%d timeout_err=0%n",
                        requests, (System.nanoTime() - start) / 1000, bytes, latencies.getValueAtPercentile(50),
                        latencies.getValueAtPercentile(90), latencies.getValueAtPercentile(99),
                        latencies.getValueAtPercentile(99.9), latencies.getMaxValue(), failed, readErrors, statusErrors);
                return requests;
            }).get();
            return completed > 0 && failedConnections == 0 ? 0 : 1;
        } finally {
            for (QuicChannel quic : quics) {
                quic.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
            for (Channel udp : sockets) {
                udp.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    /** Starts one GET on {@code quic}; when it ends, the next one starts (on the event loop). */
    private void next(QuicChannel quic) {
        if (!running || !quic.isActive()) {
            return;
        }
        long started = System.nanoTime();
        Http3.newRequestStream(quic, new Exchange(quic, started)).addListener(f -> {
            if (!f.isSuccess()) {
                readErrors++;
                return;
            }
            QuicStreamChannel stream = (QuicStreamChannel) f.getNow();
            Http3Headers headers = new DefaultHttp3Headers().method("GET").path(path).scheme("https").authority(authority);
            stream.writeAndFlush(new DefaultHttp3HeadersFrame(headers))
                    .addListener(QuicStreamChannel.SHUTDOWN_OUTPUT);
        });
    }

    /** One request stream: counts the response and starts the next request when it ends. */
    private final class Exchange extends Http3RequestStreamInboundHandler {
        private final QuicChannel quic;
        private final long started;
        private boolean ok;
        private boolean ended;

        Exchange(QuicChannel quic, long started) {
            this.quic = quic;
            this.started = started;
        }

        @Override
        protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
            CharSequence status = frame.headers().status();
            if (status != null && status.length() == 3 && status.charAt(0) == '2') {
                ok = true;
            }
            ReferenceCountUtil.release(frame);
        }

        @Override
        protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
            bytes += frame.content().readableBytes();
            frame.release();
        }

        @Override
        protected void channelInputClosed(ChannelHandlerContext ctx) {
            end(ctx, false);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            end(ctx, true);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            end(ctx, true);
            ctx.fireChannelInactive();
        }

        private void end(ChannelHandlerContext ctx, boolean failed) {
            if (ended) {
                return;
            }
            ended = true;
            if (running) {
                if (failed) {
                    readErrors++;
                } else if (!ok) {
                    statusErrors++;
                } else {
                    requests++;
                    latencies.recordValue(Math.min((System.nanoTime() - started) / 1000, latencies.getHighestTrackableValue()));
                }
            }
            ctx.close();
            next(quic);
        }
    }
}
