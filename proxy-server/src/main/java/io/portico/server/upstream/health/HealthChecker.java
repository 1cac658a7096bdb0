package io.portico.server.upstream.health;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.config.HealthCheckConfig;
import io.portico.server.config.HealthCheckType;
import io.portico.server.upstream.DirectConnect;
import io.portico.tls.ClientTls;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Checks one backend every interval, on one event loop, without blocking it: a TCP connect, or an
 * HTTP/1.1 request ({@code Connection: close}) whose status and, when asked, body are checked. One
 * check runs at a time; each ends in a pass or a failure with a reason, handed to the backend's
 * {@link BackendHealth}. Everything here runs on {@link #loop}, so the state needs no lock.
 */
public final class HealthChecker {

    private final EventLoop loop;
    private final HealthCheckConfig config;
    private final BackendHealth health;
    private final InetSocketAddress address;
    private final Bootstrap bootstrap;
    private final String hostHeader;
    private final HealthCheckConfig.StatusSet statuses;
    private final Pattern bodyPattern;
    private final boolean readBody;
    private final long intervalNanos;
    private final long jitterNanos;
    private final long timeoutNanos;

    private long generation;
    private Channel channel;
    private ScheduledFuture<?> timer;
    private boolean closed;

    /**
     * @param base     the group's bootstrap (transport, resolver, socket options); cloned onto {@code loop}
     * @param address  where to connect (unresolved names go through the DNS cache)
     * @param hostPort the backend as written, for the Host header and TLS server name
     * @param tls      the group's client TLS, or null for plain connections
     * @param sni      server name sent over TLS
     */
    public HealthChecker(EventLoop loop, HealthCheckConfig config, BackendHealth health, Bootstrap base,
                         InetSocketAddress address, String hostPort, ClientTls tls, String sni) {
        this.loop = loop;
        this.config = config;
        this.health = health;
        this.address = address;
        this.hostHeader = config.host() != null ? config.host() : hostPort;
        this.statuses = config.statuses();
        this.bodyPattern = config.bodyPattern();
        this.readBody = config.bodyContains() != null || bodyPattern != null;
        this.intervalNanos = config.interval().toNanos();
        this.jitterNanos = config.jitter().toNanos();
        this.timeoutNanos = config.timeout().toNanos();
        int port = address.getPort();
        boolean http = config.type() == HealthCheckType.HTTP;
        this.bootstrap = base.clone(loop)
                .option(ChannelOption.AUTO_READ, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, Math.min(Integer.MAX_VALUE,
                        config.timeout().toMillis())))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), sni, port));
                        }
                        if (http) {
                            ch.pipeline().addLast("http", new HttpClientCodec())
                                    .addLast("check", new ResponseHandler(generation));
                        }
                    }
                });
    }

    /** Starts checking: the first check runs within one jitter from now, the next ones every interval. */
    public void start() {
        loop.execute(() -> schedule(jitterNanos == 0 ? 0 : ThreadLocalRandom.current().nextLong(jitterNanos + 1)));
    }

    /** Stops after the check in progress, which is cut short. Safe from any thread. */
    public void close() {
        loop.execute(this::stopNow);
    }

    /**
     * Stops at once: the check in progress is cut short and its result dropped, and no check runs
     * after, even if {@link #start()} is called later. On {@link #loop()} only.
     */
    public void stopNow() {
        assert loop.inEventLoop();
        closed = true;
        health.close();
        if (timer != null) {
            timer.cancel(false);
        }
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    /** The event loop it checks on. */
    public EventLoop loop() {
        return loop;
    }

    private void schedule(long delayNanos) {
        if (!closed && !loop.isShuttingDown()) {
            timer = loop.schedule(this::run, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void run() {
        if (closed) {
            return;
        }
        long gen = ++generation;
        timer = loop.schedule(() -> finish(gen, false, "timed out after " + config.timeout().toMillis() + "ms"),
                timeoutNanos, TimeUnit.NANOSECONDS);
        ChannelFuture f = DirectConnect.connect(bootstrap, address);
        channel = f.channel();
        f.addListener(done -> onConnect(gen, (ChannelFuture) done));
    }

    private void onConnect(long gen, ChannelFuture f) {
        if (gen != generation) {
            f.channel().close();
            return;
        }
        if (!f.isSuccess()) {
            finish(gen, false, "connect failed: " + describe(f.cause()));
            return;
        }
        if (config.type() == HealthCheckType.TCP) {
            finish(gen, true, "");
            return;
        }
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, config.path());
        request.headers()
                .set(HttpHeaderNames.HOST, hostHeader)
                .set(HttpHeaderNames.USER_AGENT, "portico-health-check")
                .set(HttpHeaderNames.ACCEPT, "*/*")
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
                .set(HttpHeaderNames.CONTENT_LENGTH, 0);
        f.channel().writeAndFlush(request).addListener(w -> {
            if (!w.isSuccess()) {
                finish(gen, false, "request failed: " + describe(w.cause()));
            }
        });
    }

    /** Ends check {@code gen} once: the connection closed, the result recorded, the next check scheduled. */
    private void finish(long gen, boolean passed, String reason) {
        if (gen != generation || closed) {
            return;
        }
        generation++;
        if (timer != null) {
            timer.cancel(false);
        }
        if (channel != null) {
            channel.close();
            channel = null;
        }
        long now = System.currentTimeMillis();
        if (passed) {
            health.checkPassed(now);
        } else {
            health.checkFailed(now, reason);
        }
        long spread = jitterNanos == 0 ? 0 : ThreadLocalRandom.current().nextLong(-jitterNanos, jitterNanos + 1);
        schedule(intervalNanos + spread);
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isEmpty() ? t.getClass().getSimpleName() : m;
    }

    /** Reads one response: status, then the body up to {@link HealthCheckConfig#MAX_BODY} when it is matched. */
    private final class ResponseHandler extends ChannelInboundHandlerAdapter {
        private final long gen;
        private int status;
        private ByteBuf body;

        ResponseHandler(long gen) {
            // The initializer runs on the loop right after run() bumped the generation.
            this.gen = gen;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpResponse response) {
                    if (response.decoderResult().isFailure()) {
                        finish(gen, false, "invalid response: " + describe(response.decoderResult().cause()));
                        return;
                    }
                    if (response.status().code() < 200) {
                        return;
                    }
                    status = response.status().code();
                    if (!statuses.contains(status)) {
                        finish(gen, false, "status " + status);
                        return;
                    }
                    if (!readBody) {
                        finish(gen, true, "");
                        return;
                    }
                    body = ctx.alloc().heapBuffer(256, HealthCheckConfig.MAX_BODY);
                }
                if (msg instanceof HttpContent content && body != null) {
                    ByteBuf part = content.content();
                    body.writeBytes(part, part.readerIndex(), Math.min(part.readableBytes(), body.maxWritableBytes()));
                    if (msg instanceof LastHttpContent || !body.isWritable() && body.capacity() == body.maxCapacity()) {
                        matchBody();
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void matchBody() {
            String text = body.toString(StandardCharsets.UTF_8);
            body.release();
            body = null;
            if (config.bodyContains() != null && !text.contains(config.bodyContains())) {
                finish(gen, false, "body does not contain '" + config.bodyContains() + "'");
            } else if (bodyPattern != null && !bodyPattern.matcher(text).find()) {
                finish(gen, false, "body does not match /" + config.bodyMatches() + "/");
            } else {
                finish(gen, true, "");
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            release();
            finish(gen, false, status == 0 ? "connection closed before a response" : "connection closed in the body");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            release();
            finish(gen, false, describe(cause));
            ctx.close();
        }

        private void release() {
            if (body != null) {
                body.release();
                body = null;
            }
        }
    }
}
