package io.portico.server.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.List;

/**
 * A Netty origin for integration tests that can misbehave on demand. It streams (never aggregates)
 * so gigabyte bodies pass with flat memory, counts connections and requests, and remembers the
 * heads it received. Paths:
 * <ul>
 *   <li>{@code /hello} — 200 "hello from NAME"</li>
 *   <li>{@code /headers} — the request head as text</li>
 *   <li>{@code /upload} — reads the body, answers with its byte count and trailers seen</li>
 *   <li>{@code /download/N} — N bytes, Content-Length, written as the client reads</li>
 *   <li>{@code /chunked/N} — N bytes chunked, with a trailer {@code X-Checksum: done}</li>
 *   <li>{@code /close-delimited/N} — N bytes, no length, then close</li>
 *   <li>{@code /hang} — never answers</li>
 *   <li>{@code /held} — 200 "released" once {@link #releaseHeld()} is called; counted in {@link #held}</li>
 *   <li>{@code /garbage} — bytes that are not HTTP, then close</li>
 *   <li>{@code /reset} — closes (RST) without answering</li>
 *   <li>{@code /reset-mid-body} — a head promising 1 MB, 1 KB of it, then RST</li>
 *   <li>{@code /head-then-close} — a head promising 10 bytes, then close (FIN) without them</li>
 *   <li>{@code /slow-body} — a head, one chunk, then silence</li>
 *   <li>{@code /early-hints} — 103 then 200</li>
 *   <li>{@code /close-after} — 200 keep-alive, then closes the connection right after</li>
 *   <li>{@code /status/N} — status N</li>
 *   <li>{@code /health} — {@link #healthStatus} with body {@link #healthBody} (for health checks), counted in
 *       {@link #healthChecks}</li>
 *   <li>{@code /obj/ANYTHING} — 200 "NAME has /obj/ANYTHING" (a cacheable-looking object)</li>
 *   <li>{@code /arm-drop} — 200 keep-alive, and the next request on that connection is dropped
 *       (closed without an answer once its head arrives): a keep-alive race on demand</li>
 * </ul>
 * When {@link #failWith} is set, every path but {@code /health} answers with that status instead.
 */
public final class TestOrigin implements AutoCloseable {

    private static final ByteBuf BLOCK = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(64 * 1024).writeZero(64 * 1024)).asReadOnly();

    private final String name;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    /** Accepted connections, closed by {@link #close()}: a loop's shutdown alone does not always close them. */
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger requests = new AtomicInteger();
    /** Requests whose body arrived whole (a request cut mid-body is counted in requests only). */
    public final AtomicInteger completeRequests = new AtomicInteger();
    public final AtomicInteger openConnections = new AtomicInteger();
    public final List<HttpRequest> heads = new CopyOnWriteArrayList<>();
    public final Map<String, HttpHeaders> trailers = new ConcurrentHashMap<>();
    public final AtomicInteger healthChecks = new AtomicInteger();
    /** {@link System#nanoTime()} at which each {@code /health} request had fully arrived. */
    public final List<Long> healthCheckNanos = new CopyOnWriteArrayList<>();
    public volatile int healthStatus = 200;
    public volatile String healthBody = "healthy";
    public volatile int failWith;
    /** {@code /held} requests waiting for {@link #releaseHeld()}. */
    public final AtomicInteger held = new AtomicInteger();
    private final java.util.Queue<Runnable> heldAnswers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final Map<Channel, java.util.Set<String>> served = new ConcurrentHashMap<>();

    public TestOrigin(String name) throws InterruptedException {
        this(name, "127.0.0.1", 0);
    }

    /** An origin bound to {@code host:port}, e.g. two origins on one port of different loopback addresses. */
    public TestOrigin(String name, String host, int port) throws InterruptedException {
        this(name, host, port, null);
    }

    /** An HTTPS origin when {@code tls} is given. */
    public TestOrigin(String name, String host, int port, io.netty.handler.ssl.SslContext tls)
            throws InterruptedException {
        this.name = name;
        this.server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        connections.incrementAndGet();
                        openConnections.incrementAndGet();
                        served.put(ch, ConcurrentHashMap.newKeySet());
                        ch.closeFuture().addListener(f -> {
                            served.remove(ch);
                            openConnections.decrementAndGet();
                        });
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new HttpServerCodec()).addLast(new Handler());
                    }
                })
                .bind(host, port).sync().channel();
    }

    /** Answers every {@code /held} request waiting so far. */
    public void releaseHeld() {
        Runnable answer;
        while ((answer = heldAnswers.poll()) != null) {
            held.decrementAndGet();
            answer.run();
        }
    }

    public int port() {
        return ((java.net.InetSocketAddress) server.localAddress()).getPort();
    }

    /** Connections still open that received a request for {@code path}. */
    public long openThatServed(String path) {
        return served.values().stream().filter(paths -> paths.contains(path)).count();
    }

    public HttpRequest lastHead() {
        return heads.isEmpty() ? null : heads.get(heads.size() - 1);
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        children.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        private HttpRequest request;
        private long received;
        private long toSend;
        private boolean streaming;
        private boolean dropNext;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest r) {
                    java.util.Set<String> paths = served.get(ctx.channel());
                    if (paths != null) {
                        paths.add(r.uri());
                    }
                    if (dropNext) {
                        requests.incrementAndGet();
                        request = null;
                        ctx.close();
                        return;
                    }
                    request = r;
                    received = 0;
                    requests.incrementAndGet();
                    heads.add(r);
                    onHead(ctx, r);
                }
                if (msg instanceof HttpContent c) {
                    received += c.content().readableBytes();
                    if (c instanceof LastHttpContent last && request != null) {
                        if (last.decoderResult().isSuccess() && !dropNext) {
                            completeRequests.incrementAndGet();
                        }
                        if (!last.trailingHeaders().isEmpty()) {
                            trailers.put(request.uri(), last.trailingHeaders().copy());
                        }
                        onComplete(ctx, request, last);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onHead(ChannelHandlerContext ctx, HttpRequest r) {
            String uri = r.uri();
            if (uri.equals("/garbage")) {
                ctx.writeAndFlush(Unpooled.copiedBuffer("SPDY/9 what\r\n\r\n", StandardCharsets.US_ASCII))
                        .addListener(ChannelFutureListener.CLOSE);
                ctx.pipeline().remove(HttpServerCodec.class);
            } else if (uri.equals("/reset")) {
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                ctx.close();
            }
        }

        private void onComplete(ChannelHandlerContext ctx, HttpRequest r, LastHttpContent last) {
            String uri = r.uri();
            boolean keepAlive = HttpUtil.isKeepAlive(r);
            if (uri.equals("/health")) {
                healthCheckNanos.add(System.nanoTime());
                healthChecks.incrementAndGet();
                full(ctx, r, HttpResponseStatus.valueOf(healthStatus), healthBody);
            } else if (failWith != 0) {
                full(ctx, r, HttpResponseStatus.valueOf(failWith), "failing on purpose");
            } else if (uri.startsWith("/obj/")) {
                full(ctx, r, HttpResponseStatus.OK, name + " has " + uri);
            } else if (uri.equals("/hello")) {
                full(ctx, r, HttpResponseStatus.OK, "hello from " + name);
            } else if (uri.startsWith("/headers")) {
                StringBuilder sb = new StringBuilder();
                sb.append(r.method()).append(' ').append(r.uri()).append(' ').append(r.protocolVersion()).append('\n');
                for (Map.Entry<String, String> h : r.headers()) {
                    sb.append(h.getKey().toLowerCase()).append(": ").append(h.getValue()).append('\n');
                }
                full(ctx, r, HttpResponseStatus.OK, sb.toString());
            } else if (uri.startsWith("/upload")) {
                full(ctx, r, HttpResponseStatus.OK, "received " + received
                        + (last.trailingHeaders().isEmpty() ? "" : " trailers " + last.trailingHeaders().names()));
            } else if (uri.startsWith("/download/")) {
                toSend = Long.parseLong(uri.substring(10));
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_LENGTH, toSend);
                ctx.write(head);
                streaming = true;
                pump(ctx);
            } else if (uri.startsWith("/chunked/")) {
                int n = Integer.parseInt(uri.substring(9));
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                HttpUtil.setTransferEncodingChunked(head, true);
                head.headers().set(HttpHeaderNames.TRAILER, "X-Checksum");
                ctx.write(head);
                ctx.write(new DefaultHttpContent(ctx.alloc().buffer(n).writeZero(n)));
                LastHttpContent end = new DefaultLastHttpContent();
                end.trailingHeaders().set("X-Checksum", "done");
                ctx.writeAndFlush(end);
            } else if (uri.startsWith("/close-delimited/")) {
                int n = Integer.parseInt(uri.substring(17));
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.write(head);
                ctx.writeAndFlush(new DefaultLastHttpContent(ctx.alloc().buffer(n).writeZero(n)))
                        .addListener(ChannelFutureListener.CLOSE);
            } else if (uri.equals("/hang")) {
                // never answer
            } else if (uri.equals("/held")) {
                heldAnswers.add(() -> ctx.executor().execute(() -> full(ctx, r, HttpResponseStatus.OK, "released")));
                held.incrementAndGet();
            } else if (uri.equals("/reset-mid-body")) {
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_LENGTH, 1_000_000);
                ctx.write(head);
                ctx.writeAndFlush(new DefaultHttpContent(ctx.alloc().buffer(1024).writeZero(1024))).addListener(f -> {
                    ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                    ctx.close();
                });
            } else if (uri.equals("/head-then-close")) {
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_LENGTH, 10);
                ctx.writeAndFlush(head).addListener(ChannelFutureListener.CLOSE);
            } else if (uri.equals("/slow-body")) {
                HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                head.headers().set(HttpHeaderNames.CONTENT_LENGTH, 1_000_000);
                ctx.write(head);
                ctx.writeAndFlush(new DefaultHttpContent(ctx.alloc().buffer(100).writeZero(100)));
            } else if (uri.equals("/early-hints")) {
                HttpResponse hints = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(103));
                hints.headers().set("Link", "</style.css>; rel=preload; as=style");
                ctx.write(hints);
                full(ctx, r, HttpResponseStatus.OK, "after hints");
            } else if (uri.equals("/close-after")) {
                FullHttpResponse resp = response(ctx, HttpResponseStatus.OK, "closing soon");
                ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
            } else if (uri.equals("/arm-drop")) {
                dropNext = true;
                full(ctx, r, HttpResponseStatus.OK, "armed");
            } else if (uri.startsWith("/status/")) {
                full(ctx, r, HttpResponseStatus.valueOf(Integer.parseInt(uri.substring(8))), "status");
            } else {
                full(ctx, r, HttpResponseStatus.NOT_FOUND, "no such test path " + uri);
            }
            if (!keepAlive && !streaming) {
                ctx.flush();
                ctx.close();
            }
        }

        private void pump(ChannelHandlerContext ctx) {
            while (toSend > 0 && ctx.channel().isWritable()) {
                int n = (int) Math.min(BLOCK.capacity(), toSend);
                toSend -= n;
                HttpContent part = toSend == 0 ? new DefaultLastHttpContent(BLOCK.retainedSlice(0, n))
                        : new DefaultHttpContent(BLOCK.retainedSlice(0, n));
                ctx.write(part);
            }
            ctx.flush();
            if (toSend == 0) {
                streaming = false;
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (streaming && ctx.channel().isWritable()) {
                pump(ctx);
            }
        }

        private FullHttpResponse response(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    ctx.alloc().buffer(bytes.length).writeBytes(bytes));
            resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            resp.headers().set("X-Origin", name);
            return resp;
        }

        private void full(ChannelHandlerContext ctx, HttpRequest r, HttpResponseStatus status, String body) {
            ctx.writeAndFlush(response(ctx, status, body));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
