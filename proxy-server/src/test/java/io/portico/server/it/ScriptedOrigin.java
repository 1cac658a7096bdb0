package io.portico.server.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An origin whose answers a cache test scripts per path, counting the requests each path gets and
 * keeping their heads. A script returns a {@link Reply}: status, headers, body, an optional delay,
 * and optionally a gate that holds back the second half of the body until the test opens it.
 */
final class ScriptedOrigin implements AutoCloseable {

    /** One answer. {@code gate} non-null: send the head and the first half, the rest once it completes. */
    record Reply(int status, Map<String, String> headers, String body, long delayMillis, CompletableFuture<Void> gate) {
        static Reply ok(String body, String... headerPairs) {
            return of(200, body, headerPairs);
        }

        static Reply of(int status, String body, String... headerPairs) {
            Map<String, String> h = new java.util.LinkedHashMap<>();
            for (int i = 0; i < headerPairs.length; i += 2) {
                h.put(headerPairs[i], headerPairs[i + 1]);
            }
            return new Reply(status, h, body, 0, null);
        }

        Reply delayed(long millis) {
            return new Reply(status, headers, body, millis, gate);
        }

        Reply gated(CompletableFuture<Void> g) {
            return new Reply(status, headers, body, delayMillis, g);
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Map<String, Function<FullHttpRequest, Reply>> scripts = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    final List<HttpHeaders> requestHeaders = new CopyOnWriteArrayList<>();
    /** "METHOD path" of every request, in arrival order. */
    final List<String> requestLines = new CopyOnWriteArrayList<>();
    private final Channel server;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    ScriptedOrigin() throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Handler());
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((java.net.InetSocketAddress) server.localAddress()).getPort();
    }

    ScriptedOrigin on(String path, Function<FullHttpRequest, Reply> script) {
        scripts.put(path, script);
        return this;
    }

    int hits(String path) {
        AtomicInteger n = hits.get(path);
        return n == null ? 0 : n.get();
    }

    /** Stops accepting: later connections are refused, as from an origin that is down. */
    void down() {
        server.close().syncUninterruptibly();
        children.close().syncUninterruptibly();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Portico resets a connection whose body it does not want (a converted HEAD of an uncacheable response).
            ctx.close();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = req.uri();
            int q = path.indexOf('?');
            String key = q < 0 ? path : path.substring(0, q);
            hits.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            requestHeaders.add(req.headers().copy());
            requestLines.add(req.method().name() + " " + key);
            Function<FullHttpRequest, Reply> script = scripts.get(key);
            Reply reply = script == null ? Reply.of(404, "no script\n") : script.apply(req);
            boolean head = req.method().name().equals("HEAD");
            if (reply.delayMillis() > 0) {
                ctx.executor().schedule(() -> send(ctx, reply, head), reply.delayMillis(), TimeUnit.MILLISECONDS);
            } else {
                send(ctx, reply, head);
            }
        }

        private void send(ChannelHandlerContext ctx, Reply reply, boolean head) {
            byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
            HttpResponseStatus status = HttpResponseStatus.valueOf(reply.status());
            if (reply.gate() == null) {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                        head || reply.status() == 304 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
                reply.headers().forEach((k, v) -> r.headers().add(k, v));
                if (reply.status() != 304) {
                    HttpUtil.setContentLength(r, body.length);
                }
                ctx.writeAndFlush(r);
                return;
            }
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
            reply.headers().forEach((k, v) -> r.headers().add(k, v));
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            int half = body.length / 2;
            ctx.write(r);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(body, 0, half)));
            reply.gate().thenRun(() -> ctx.executor().execute(() -> {
                ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(body, half, body.length - half)));
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            }));
        }
    }
}
