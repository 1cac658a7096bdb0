import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.nio.charset.StandardCharsets;

/**
 * A diagnostic, not part of any suite: the smallest Netty HTTP/1.1 server (one event loop, Netty's
 * codec, a fixed 6-byte answer), to tell what in a latency figure is Portico's and what is the JVM's
 * and Netty's. BENCHMARKS.md ("The HTTP/1.1 tail, a third look") compares it with Portico's
 * {@code respond} route and nginx's {@code return 200} under the same wrk load.
 *
 * <pre>
 * taskset -c 0 java -XX:+UseParallelGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch -XX:ActiveProcessorCount=1 \
 *     -cp proxy-server/target/portico.jar load-tests/bench/BareNettyServer.java [io_uring|epoll] [port] [auto|manual]
 * taskset -c 1 wrk -t 1 -c 10 -d 10s --latency http://127.0.0.1:18083/
 * </pre>
 *
 * {@code manual} reads as Portico does: AUTO_READ off and one {@code read()} after each batch of
 * reads (on io_uring a single-shot receive each time instead of Netty's multishot one).
 */
public final class BareNettyServer {

    public static void main(String[] args) throws InterruptedException {
        boolean epoll = args.length > 0 && args[0].equals("epoll");
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 18083;
        boolean manual = args.length > 2 && args[2].equals("manual");
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : IoUringIoHandler.newFactory();
        Class<? extends ServerChannel> server = epoll ? EpollServerSocketChannel.class : IoUringServerSocketChannel.class;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
        byte[] body = "hello\n".getBytes(StandardCharsets.US_ASCII);
        new ServerBootstrap().group(group).channel(server)
                .childOption(ChannelOption.AUTO_READ, !manual)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec()).addLast(new SimpleChannelInboundHandler<HttpObject>() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                if (manual) {
                                    ctx.read();
                                }
                            }

                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                                if (msg instanceof LastHttpContent) {
                                    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                            HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
                                    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
                                    ctx.write(r, ctx.voidPromise());
                                }
                            }

                            @Override
                            public void channelReadComplete(ChannelHandlerContext ctx) {
                                ctx.flush();
                                if (manual) {
                                    ctx.read();
                                }
                            }
                        });
                    }
                }).bind("127.0.0.1", port).sync();
        System.out.println("listening on 127.0.0.1:" + port + " (" + (epoll ? "epoll" : "io_uring")
                + (manual ? ", AUTO_READ off" : "") + ")");
        group.terminationFuture().sync();
    }
}
