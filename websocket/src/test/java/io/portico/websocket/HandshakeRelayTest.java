package io.portico.websocket;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketClientCompressionHandler;
import io.netty.handler.codec.http.websocketx.extensions.compression.WebSocketServerCompressionHandler;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The whole path with Netty's own WebSocket client and server at the ends and a small HTTP front
 * end in the middle that does what Portico's does: validate, forward the upgrade, check the 101,
 * start the relay, then remove its HTTP handlers.
 */
class HandshakeRelayTest {

    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final AtomicInteger onCloseRuns = new AtomicInteger();
    private final BlockingQueue<Boolean> deflateSeen = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
    private Channel upstreamServer;
    private Channel proxyServer;

    @BeforeEach
    void noServersYet() {
        upstreamServer = null;
        proxyServer = null;
    }

    @AfterEach
    void tearDown() {
        if (proxyServer != null) {
            proxyServer.close().syncUninterruptibly();
        }
        if (upstreamServer != null) {
            upstreamServer.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @ParameterizedTest(name = "compression {0}")
    @ValueSource(booleans = {false, true})
    void relaysAConnectionUpgradedThroughTheFrontEndIncludingTheUpstreamsFirstFrame(boolean compression)
            throws Exception {
        startUpstream(compression);
        startProxy();

        Channel client = connectClient(compression);

        assertThat(texts.poll(10, TimeUnit.SECONDS)).isEqualTo("welcome");
        assertThat(deflateSeen.poll(10, TimeUnit.SECONDS)).isEqualTo(compression);
        client.writeAndFlush(new TextWebSocketFrame("hi there, hi there, hi there"));
        assertThat(texts.poll(10, TimeUnit.SECONDS)).isEqualTo("echo: hi there, hi there, hi there");
        client.writeAndFlush(new CloseWebSocketFrame(1000, "bye"));
        await().atMost(FramePeer.WAIT).until(() -> !client.isOpen());
        await().atMost(FramePeer.WAIT).until(() -> onCloseRuns.get() == 1);
    }

    private void startUpstream(boolean compression) {
        upstreamServer = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16));
                        if (compression) {
                            ch.pipeline().addLast(new WebSocketServerCompressionHandler(0));
                        }
                        ch.pipeline().addLast(new WebSocketServerProtocolHandler("/ws", null, true),
                                new EchoServer());
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).syncUninterruptibly().channel();
    }

    private void startProxy() {
        SocketAddress upstreamAddress = upstreamServer.localAddress();
        proxyServer = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Front(upstreamAddress));
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).syncUninterruptibly().channel();
    }

    private Channel connectClient(boolean compression) {
        InetSocketAddress proxy = (InetSocketAddress) proxyServer.localAddress();
        WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
                .webSocketUri("ws://127.0.0.1:" + proxy.getPort() + "/ws")
                .allowExtensions(compression)
                .build();
        return new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 16));
                        if (compression) {
                            ch.pipeline().addLast(new WebSocketClientCompressionHandler(0));
                        }
                        ch.pipeline().addLast(new WebSocketClientProtocolHandler(config), new TextCollector());
                    }
                })
                .connect(proxy).syncUninterruptibly().channel();
    }

    /** Greets each connection as soon as the handshake is done, then echoes text. */
    private static final class EchoServer extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
                ctx.writeAndFlush(new TextWebSocketFrame("welcome"));
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof TextWebSocketFrame text) {
                ctx.writeAndFlush(new TextWebSocketFrame("echo: " + text.text()));
            }
            ReferenceCountUtil.release(msg);
        }
    }

    private final class TextCollector extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof TextWebSocketFrame text) {
                texts.add(text.text());
            }
            ReferenceCountUtil.release(msg);
        }
    }

    /** The client's side of the test front end: validates the upgrade and forwards it. */
    private final class Front extends ChannelInboundHandlerAdapter {

        private final SocketAddress upstreamAddress;

        Front(SocketAddress upstreamAddress) {
            this.upstreamAddress = upstreamAddress;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest request) {
                    assertThat(WebSocketHandshake.isUpgradeRequest(request)).isTrue();
                    assertThat(WebSocketHandshake.validate(request)).isNull();
                    forward(ctx.channel(), request);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void forward(Channel client, HttpRequest request) {
            client.config().setAutoRead(false);
            HttpRequest upgrade = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, request.uri(),
                    Unpooled.EMPTY_BUFFER, request.headers().copy(), EmptyHttpHeaders.INSTANCE);
            new Bootstrap()
                    .group(client.eventLoop())
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(), new Back(client, upgrade));
                        }
                    })
                    .connect(upstreamAddress)
                    .addListener((ChannelFuture connected) -> {
                        if (!connected.isSuccess()) {
                            client.close();
                            return;
                        }
                        connected.channel().writeAndFlush(upgrade);
                        connected.channel().read();
                    });
        }
    }

    /** The upstream's side of the test front end: checks the 101, relays it, starts the relay. */
    private final class Back extends ChannelInboundHandlerAdapter {

        private final Channel client;
        private final HttpRequest upgrade;

        Back(Channel client, HttpRequest upgrade) {
            this.client = client;
            this.upgrade = upgrade;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse response) {
                    assertThat(WebSocketHandshake.acceptMatches(upgrade, response)).isTrue();
                    boolean deflate = WebSocketHandshake.deflateNegotiated(response);
                    deflateSeen.add(deflate);
                    client.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                            HttpResponseStatus.SWITCHING_PROTOCOLS, Unpooled.EMPTY_BUFFER,
                            response.headers().copy(), EmptyHttpHeaders.INSTANCE));
                    WebSocketRelay.start(client, ctx.channel(), WebSocketRelay.Mode.FRAMES, RelayLimits.defaults(),
                            deflate, onCloseRuns::incrementAndGet);
                    client.pipeline().remove(Front.class);
                    client.pipeline().remove(HttpServerCodec.class);
                    // This handler before the codec, so that what the codec still holds passes on to the relay.
                    ctx.pipeline().remove(this);
                    ctx.pipeline().remove(HttpClientCodec.class);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }
}
