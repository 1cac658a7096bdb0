package io.portico.server.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3DataFrame;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicConnectionCloseEvent;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real HTTP/3 client for the tests: Netty's QUIC codec and HTTP/3 client handler over a UDP
 * socket, one QUIC connection, a request stream per {@link #send}.
 */
final class H3Client implements AutoCloseable {

    /** At most this much of a body is kept; beyond it bytes are only counted (large downloads). */
    private static final int KEEP = 1 << 20;

    private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel udp;
    final QuicChannel quic;
    final String authority;
    /** How the server closed the QUIC connection, once it has; null before. */
    volatile QuicConnectionCloseEvent closedBy;

    H3Client(int port, X509Certificate trusted) throws Exception {
        this(port, trusted, null, null);
    }

    /** A client that presents {@code clientCert} (mTLS) when the server asks for one. */
    H3Client(int port, X509Certificate trusted, java.security.PrivateKey clientKey, X509Certificate clientCert)
            throws Exception {
        QuicSslContextBuilder builder = QuicSslContextBuilder.forClient().trustManager(trusted)
                .applicationProtocols(Http3.supportedApplicationProtocols());
        if (clientKey != null) {
            builder.keyManager(clientKey, null, clientCert);
        }
        QuicSslContext tls = builder.build();
        ChannelHandler codec = Http3.newQuicClientCodecBuilder()
                // The name the certificate is for goes in SNI and is what the client verifies.
                .sslEngineProvider(ch -> tls.newEngine(ch.alloc(), "localhost", port))
                .maxIdleTimeout(30, TimeUnit.SECONDS)
                .initialMaxData(16 << 20)
                .initialMaxStreamDataBidirectionalLocal(4 << 20)
                .build();
        udp = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(codec).bind(0).sync().channel();
        try {
            quic = connect(port);
        } catch (Exception e) {
            // A refused handshake: nothing of this client may outlive the constructor.
            udp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            throw e;
        }
        authority = "localhost:" + port;
    }

    private QuicChannel connect(int port) throws Exception {
        return QuicChannel.newBootstrap(udp)
                .handler(new ChannelInitializer<QuicChannel>() {
                    @Override
                    protected void initChannel(QuicChannel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof QuicConnectionCloseEvent close) {
                                    closedBy = close;
                                }
                                ctx.fireUserEventTriggered(evt);
                            }
                        }, new Http3ClientConnectionHandler());
                    }
                })
                .remoteAddress(new InetSocketAddress("127.0.0.1", port))
                .connect().get(10, TimeUnit.SECONDS);
    }

    /** A GET with the usual pseudo-headers. */
    Response get(String path) throws Exception {
        return send(headers("GET", path), null);
    }

    Http3Headers headers(String method, String path) {
        return new DefaultHttp3Headers().method(method).path(path).scheme("https").authority(authority);
    }

    /** Sends a request (the body in 64 KiB DATA frames, as fast as the stream's window allows) and waits for its end. */
    Response send(Http3Headers headers, byte[] body) throws Exception {
        return send(headers, body == null ? 0 : body.length, body);
    }

    /** Sends {@code length} body bytes (zeros when {@code body} is null) and waits for the response. */
    Response send(Http3Headers headers, long length, byte[] body) throws Exception {
        Response response = new Response();
        QuicStreamChannel stream = Http3.newRequestStream(quic, response).get(10, TimeUnit.SECONDS);
        stream.writeAndFlush(new DefaultHttp3HeadersFrame(headers)).addListener(f -> {
            if (!f.isSuccess()) {
                response.error = f.cause();
            }
        });
        new Uploader(stream, length, body).pump();
        return response.await();
    }

    /** Sends a head and {@code body} without ending the stream (a client that stalls mid-upload). */
    Response sendWithoutEnd(Http3Headers headers, byte[] body) throws Exception {
        Response response = new Response();
        QuicStreamChannel stream = Http3.newRequestStream(quic, response).get(10, TimeUnit.SECONDS);
        stream.write(new DefaultHttp3HeadersFrame(headers));
        stream.writeAndFlush(new DefaultHttp3DataFrame(stream.alloc().buffer(body.length).writeBytes(body)));
        return response;
    }

    /** Opens a request stream and sends its head; the caller writes the body at its own pace. */
    QuicStreamChannel open(Http3Headers headers, Response response) throws Exception {
        QuicStreamChannel stream = Http3.newRequestStream(quic, response).get(10, TimeUnit.SECONDS);
        stream.writeAndFlush(new DefaultHttp3HeadersFrame(headers));
        return stream;
    }

    /** Writes a body in DATA frames while the stream is writable, then the FIN. */
    private static final class Uploader {
        private final QuicStreamChannel stream;
        private final byte[] body;
        private final long length;
        private long sent;

        Uploader(QuicStreamChannel stream, long length, byte[] body) {
            this.stream = stream;
            this.length = length;
            this.body = body;
        }

        void pump() {
            stream.eventLoop().execute(this::writeSome);
        }

        private void writeSome() {
            io.netty.channel.ChannelFuture last = null;
            while (sent < length && stream.isWritable()) {
                int n = (int) Math.min(64 * 1024, length - sent);
                ByteBuf chunk = stream.alloc().buffer(n);
                if (body != null) {
                    chunk.writeBytes(body, (int) sent, n);
                } else {
                    chunk.writeZero(n);
                }
                sent += n;
                last = stream.write(new DefaultHttp3DataFrame(chunk));
            }
            stream.flush();
            if (sent == length) {
                // The FIN only after the last DATA has really gone into the stream (it may wait for window).
                if (last == null) {
                    stream.shutdownOutput();
                } else {
                    last.addListener(f -> stream.shutdownOutput());
                }
            } else if (stream.isActive()) {
                // Wait for the window to open: the stream says so by becoming writable.
                stream.pipeline().addFirst(new io.netty.channel.ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                        if (ctx.channel().isWritable()) {
                            ctx.pipeline().remove(this);
                            writeSome();
                        }
                        ctx.fireChannelWritabilityChanged();
                    }
                });
            }
        }
    }

    @Override
    public void close() {
        quic.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        udp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** What came back on one request stream. */
    static final class Response extends Http3RequestStreamInboundHandler {
        final CompletableFuture<Response> done = new CompletableFuture<>();
        Http3Headers headers;
        Http3Headers trailers;
        final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        long bodyBytes;
        /** The application error code of a RESET_STREAM from the server, or -1. */
        long resetCode = -1;
        Throwable error;

        int status() {
            return headers == null ? -1 : Integer.parseInt(headers.status().toString());
        }

        String header(String name) {
            CharSequence v = headers == null ? null : headers.get(name);
            return v == null ? null : v.toString();
        }

        /** What went wrong, for assertion messages. */
        String describe() {
            return "status " + status() + ", reset " + resetCode + ", error " + error + ", body " + bodyBytes + " bytes";
        }

        String body() {
            return kept.toString(StandardCharsets.UTF_8);
        }

        Response await() throws Exception {
            return done.get(60, TimeUnit.SECONDS);
        }

        @Override
        protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
            Http3Headers h = frame.headers();
            if (headers == null || headers.status() != null && headers.status().charAt(0) == '1') {
                headers = h;
            } else {
                trailers = h;
            }
            ReferenceCountUtil.release(frame);
        }

        @Override
        protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
            ByteBuf b = frame.content();
            bodyBytes += b.readableBytes();
            if (kept.size() < KEEP) {
                int n = Math.min(b.readableBytes(), KEEP - kept.size());
                byte[] bytes = new byte[n];
                b.getBytes(b.readerIndex(), bytes);
                kept.writeBytes(bytes);
            }
            frame.release();
        }

        @Override
        protected void channelInputClosed(ChannelHandlerContext ctx) {
            done.complete(this);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            error = cause;
            if (cause instanceof QuicStreamResetException reset) {
                resetCode = reset.applicationProtocolCode();
            }
            done.complete(this);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.complete(this);
            ctx.fireChannelInactive();
        }
    }

    static Http3Headers unvalidated() {
        return new DefaultHttp3Headers(false);
    }
}
