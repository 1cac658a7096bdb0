package io.portico.server.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2UnknownFrame;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/2 origin for integration tests: h2c with prior knowledge, or h2 over TLS with ALPN. It
 * counts connections and streams (open now and the most open at once), advertises a chosen
 * SETTINGS_MAX_CONCURRENT_STREAMS, and misbehaves on demand. Paths:
 * <ul>
 *   <li>{@code /hello} — 200 "hello from NAME"</li>
 *   <li>{@code /headers} — the request's header fields (pseudo-headers included) as text</li>
 *   <li>{@code /slow/MS} — 200 after MS milliseconds (holds a stream open)</li>
 *   <li>{@code /upload} — reads the body, answers "received N" and the trailer names</li>
 *   <li>{@code /download/N} — N bytes with Content-Length, sent as the flow-control window allows</li>
 *   <li>{@code /trailers} — a body, then trailers {@code x-checksum: done}</li>
 *   <li>{@code /early-hints} — 103 with a Link, then 200</li>
 *   <li>{@code /empty} — 200 with no DATA and no Content-Length</li>
 *   <li>{@code /short-body} — Content-Length 10, 5 bytes, end of stream</li>
 *   <li>{@code /bad-header} — a response field whose value holds a line feed</li>
 *   <li>{@code /rst} — RST_STREAM INTERNAL_ERROR instead of an answer</li>
 *   <li>{@code /refuse-once/KEY} — RST_STREAM REFUSED_STREAM the first time for KEY, then 200</li>
 *   <li>{@code /hang} — never answers</li>
 * </ul>
 */
public final class H2TestOrigin implements AutoCloseable {

    private static final ByteBuf BLOCK = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(16 * 1024).writeZero(16 * 1024)).asReadOnly();

    private final String name;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    private final List<Channel> children = new CopyOnWriteArrayList<>();
    private final Set<String> refused = ConcurrentHashMap.newKeySet();
    /** Paths under /hang-once/ asked once already: the first ask is never answered, later ones are. */
    private final Set<String> hung = ConcurrentHashMap.newKeySet();
    public final SelfSignedCertificate certificate;
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger openConnections = new AtomicInteger();
    public final AtomicInteger streams = new AtomicInteger();
    public final AtomicInteger openStreams = new AtomicInteger();
    public final AtomicInteger maxOpenStreams = new AtomicInteger();
    /** The most streams open at once on any single connection. */
    public final AtomicInteger maxStreamsOnOneConnection = new AtomicInteger();
    public final Map<String, String> trailersSeen = new ConcurrentHashMap<>();
    /** Connections closed as soon as they were accepted, after {@link #dropNewConnections()}. */
    public final AtomicInteger droppedConnections = new AtomicInteger();
    private final AtomicBoolean dropNew = new AtomicBoolean();

    /** An h2c origin advertising {@code maxConcurrentStreams}. */
    public static H2TestOrigin cleartext(String name, int maxConcurrentStreams) throws Exception {
        return new H2TestOrigin(name, maxConcurrentStreams, false, true);
    }

    /** An h2c origin that never answers a PING, like a backend whose process hangs. */
    public static H2TestOrigin cleartextIgnoringPings(String name) throws Exception {
        return new H2TestOrigin(name, 100, false, false);
    }

    /** An h2 origin (TLS, ALPN h2 only) with a self-signed certificate for localhost. */
    public static H2TestOrigin tls(String name, int maxConcurrentStreams) throws Exception {
        return new H2TestOrigin(name, maxConcurrentStreams, true, true);
    }

    private H2TestOrigin(String name, int maxConcurrentStreams, boolean tls, boolean answerPings) throws Exception {
        this.name = name;
        this.certificate = tls ? new SelfSignedCertificate("localhost") : null;
        SslContext ssl = tls ? SslContextBuilder.forServer(certificate.certificate(), certificate.privateKey())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2))
                .build() : null;
        this.server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (dropNew.get()) {
                            droppedConnections.incrementAndGet();
                            ch.close();
                            return;
                        }
                        connections.incrementAndGet();
                        openConnections.incrementAndGet();
                        children.add(ch);
                        AtomicInteger onThisConnection = new AtomicInteger();
                        ch.closeFuture().addListener(f -> {
                            openConnections.decrementAndGet();
                            children.remove(ch);
                        });
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forServer()
                                .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(maxConcurrentStreams))
                                .autoAckPingFrame(answerPings)
                                .build());
                        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                            @Override
                            protected void initChannel(Http2StreamChannel stream) {
                                streams.incrementAndGet();
                                maxOpenStreams.accumulateAndGet(openStreams.incrementAndGet(), Math::max);
                                maxStreamsOnOneConnection.accumulateAndGet(onThisConnection.incrementAndGet(), Math::max);
                                stream.closeFuture().addListener(f -> {
                                    openStreams.decrementAndGet();
                                    onThisConnection.decrementAndGet();
                                });
                                stream.pipeline().addLast(new StreamHandler());
                            }
                        }));
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /**
     * Sends GOAWAY on every connection with a last-stream-id below the streams in flight, as a
     * server does that stops taking work: the streams above it are dropped unanswered (the client
     * must retry them), those at or below it are still answered. Returns how many streams were dropped.
     */
    public int goAwayDroppingNewestStreams() throws Exception {
        AtomicInteger dropped = new AtomicInteger();
        for (Channel ch : children) {
            ch.eventLoop().submit(() -> {
                Http2FrameCodec codec = ch.pipeline().get(Http2FrameCodec.class);
                ChannelHandlerContext ctx = ch.pipeline().context(codec);
                TreeSet<Integer> active = new TreeSet<>();
                try {
                    codec.connection().forEachActiveStream(s -> active.add(s.id()) || true);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                int last = active.isEmpty() ? codec.connection().remote().lastStreamCreated()
                        : active.toArray(new Integer[0])[active.size() / 2];
                dropped.addAndGet(active.tailSet(last, false).size());
                codec.goAway(ctx, last, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER, ctx.newPromise());
                ctx.flush();
            }).sync();
        }
        return dropped.get();
    }

    /**
     * From now on every new connection is closed as soon as it is accepted (before any SETTINGS),
     * as by a backend at its own connection limit; the open ones carry on.
     */
    public void dropNewConnections() {
        dropNew.set(true);
    }

    /** Closes every client connection at once, as a crashing backend would. */
    public void dropConnections() {
        for (Channel ch : children) {
            ch.close();
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        if (certificate != null) {
            certificate.delete();
        }
    }

    private final class StreamHandler extends ChannelInboundHandlerAdapter {
        private Http2Headers request;
        private long received;
        private long toSend;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame headers) {
                    if (request == null) {
                        request = headers.headers();
                        onHead(ctx);
                    } else {
                        StringBuilder names = new StringBuilder();
                        headers.headers().names().forEach(n -> names.append(n).append(' '));
                        trailersSeen.put(request.path().toString(), names.toString().trim());
                    }
                    if (headers.isEndStream()) {
                        onComplete(ctx);
                    }
                } else if (msg instanceof Http2DataFrame data) {
                    received += data.content().readableBytes();
                    if (data.isEndStream()) {
                        onComplete(ctx);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onHead(ChannelHandlerContext ctx) {
            String path = request.path().toString();
            if (path.equals("/rst")) {
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
            } else if (path.startsWith("/refuse-once/") && refused.add(path)) {
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM));
            }
        }

        private void onComplete(ChannelHandlerContext ctx) {
            String path = request.path().toString();
            if (path.startsWith("/hang-once/") && hung.add(path)) {
                return;
            }
            if (path.equals("/hello") || path.startsWith("/refuse-once/") || path.startsWith("/hang-once/")) {
                respond(ctx, "200", "hello from " + name);
            } else if (path.equals("/headers")) {
                StringBuilder sb = new StringBuilder();
                request.forEach(e -> sb.append(e.getKey()).append(": ").append(e.getValue()).append('\n'));
                respond(ctx, "200", sb.toString());
            } else if (path.startsWith("/slow/")) {
                long ms = Long.parseLong(path.substring(6));
                ctx.executor().schedule(() -> respond(ctx, "200", "slow from " + name), ms, TimeUnit.MILLISECONDS);
            } else if (path.equals("/upload")) {
                String trailers = trailersSeen.get(path);
                respond(ctx, "200", "received " + received + (trailers == null ? "" : " trailers " + trailers));
            } else if (path.startsWith("/download/")) {
                toSend = Long.parseLong(path.substring(10));
                Http2Headers h = new DefaultHttp2Headers().status("200").setLong("content-length", toSend);
                ctx.write(new DefaultHttp2HeadersFrame(h, toSend == 0));
                pump(ctx);
            } else if (path.equals("/unknown-frames")) {
                // Frames of an unknown type on the stream, before and inside the response (RFC 9113 section 5.5).
                for (int i = 0; i < 50; i++) {
                    ctx.write(new DefaultHttp2UnknownFrame((byte) 0x21, new Http2Flags(), ctx.alloc().buffer(1024).writeZero(1024)));
                }
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                ctx.write(new DefaultHttp2UnknownFrame((byte) 0x22, new Http2Flags(), ctx.alloc().buffer(8).writeZero(8)));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(text(ctx, "past unknown frames"), true));
            } else if (path.equals("/trailers")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                ctx.write(new DefaultHttp2DataFrame(text(ctx, "body before trailers"), false));
                ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().add("x-checksum", "done"), true));
            } else if (path.equals("/early-hints")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("103")
                        .add("link", "</style.css>; rel=preload; as=style")));
                respond(ctx, "200", "after hints");
            } else if (path.equals("/empty")) {
                ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), true));
            } else if (path.equals("/short-body")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200").add("content-length", "10")));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(text(ctx, "12345"), true));
            } else if (path.equals("/bad-header")) {
                ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers(false).status("200")
                        .add("x-injected", "a\r\nset-cookie: evil=1")));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(text(ctx, "x"), true));
            } else if (!path.equals("/hang") && !path.equals("/rst")) {
                respond(ctx, "404", "no such test path " + path);
            }
        }

        private void pump(ChannelHandlerContext ctx) {
            while (toSend > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(BLOCK.capacity(), toSend);
                toSend -= n;
                ctx.write(new DefaultHttp2DataFrame(BLOCK.retainedSlice(0, n), toSend == 0));
            }
            ctx.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (toSend > 0 && ctx.channel().isWritable()) {
                pump(ctx);
            }
        }

        private void respond(ChannelHandlerContext ctx, String status, String body) {
            ByteBuf content = text(ctx, body);
            Http2Headers h = new DefaultHttp2Headers().status(status)
                    .setInt("content-length", content.readableBytes())
                    .add("content-type", "text/plain")
                    .add("x-origin", name);
            ctx.write(new DefaultHttp2HeadersFrame(h));
            ctx.writeAndFlush(new DefaultHttp2DataFrame(content, true));
        }

        private ByteBuf text(ChannelHandlerContext ctx, String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            return ctx.alloc().buffer(bytes.length).writeBytes(bytes);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
