package io.portico.server.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.portico.http.cache.HttpDates;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An origin serving one binary object that honours single byte ranges (206 with
 * {@code Content-Range}, 416) the way a file server does, with an {@code ETag} and a lifetime. It
 * records the {@code Range} of every request ({@code "-"} for none), and can be told to ignore
 * Range, to answer late, or to start serving another version of the object.
 */
final class RangeOrigin implements AutoCloseable {

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    /** The Range of each request, in arrival order ("-" when it had none). */
    final List<String> ranges = new CopyOnWriteArrayList<>();
    private volatile byte[] body;
    private volatile String etag;
    private volatile boolean ignoreRange;
    private volatile long delayMillis;
    private volatile int changeAt = Integer.MAX_VALUE;
    private volatile byte[] nextBody;
    private final long createdMillis = System.currentTimeMillis();
    private volatile String nextEtag;

    /** @param etag the object's entity tag; null for none and a Last-Modified as old as its Date instead */
    RangeOrigin(byte[] body, String etag) throws InterruptedException {
        this.body = body;
        this.etag = etag;
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), new Handler());
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((java.net.InetSocketAddress) server.localAddress()).getPort();
    }

    /** From now on the origin serves {@code newBody} as version {@code newEtag}. */
    void change(byte[] newBody, String newEtag) {
        this.body = newBody;
        this.etag = newEtag;
    }

    /** The origin switches to {@code newBody}/{@code newEtag} with its {@code n}th request (counting from 1). */
    void changeAt(int n, byte[] newBody, String newEtag) {
        this.nextBody = newBody;
        this.nextEtag = newEtag;
        this.changeAt = n;
    }

    void ignoreRange() {
        this.ignoreRange = true;
    }

    void delay(long millis) {
        this.delayMillis = millis;
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Portico resets connections whose body it does not want (a 200 to a slice request).
            ctx.close();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String range = req.headers().get(HttpHeaderNames.RANGE);
            ranges.add(range == null ? "-" : range);
            if (ranges.size() >= changeAt) {
                change(nextBody, nextEtag);
                changeAt = Integer.MAX_VALUE;
            }
            byte[] b = body;
            String tag = etag;
            boolean head = req.method().name().equals("HEAD");
            FullHttpResponse r;
            Matcher m = range == null || ignoreRange ? null : RANGE.matcher(range.trim());
            if (m != null && m.matches()) {
                long first = Long.parseLong(m.group(1));
                long last = m.group(2).isEmpty() ? b.length - 1 : Math.min(Long.parseLong(m.group(2)), b.length - 1);
                if (first >= b.length) {
                    r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE);
                    r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + b.length);
                } else {
                    int len = (int) (last - first + 1);
                    r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT,
                            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(b, (int) first, len));
                    r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + first + "-" + last + "/" + b.length);
                    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, len);
                }
            } else {
                r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(b));
                r.headers().set(HttpHeaderNames.CONTENT_LENGTH, b.length);
            }
            if (tag != null) {
                r.headers().set(HttpHeaderNames.ETAG, tag);
            } else {
                // No tag: a Last-Modified from the second the response is dated, which cannot tell
                // two versions written within that second apart (not a strong validator).
                r.headers().set(HttpHeaderNames.LAST_MODIFIED, HttpDates.format(createdMillis));
                r.headers().set(HttpHeaderNames.DATE, HttpDates.format(createdMillis));
            }
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "max-age=600");
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            if (!r.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
            }
            if (delayMillis > 0) {
                ctx.executor().schedule(() -> ctx.writeAndFlush(r), delayMillis, TimeUnit.MILLISECONDS);
            } else {
                ctx.writeAndFlush(r);
            }
        }
    }
}
