package io.portico.server.http1;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.http.ReadClock;
import io.portico.server.config.HttpListenerConfig;
import io.portico.server.limits.OutputProgress;

import java.util.concurrent.TimeUnit;

/**
 * The client-side clocks of an HTTP/1.1 connection, as nginx keeps them, on one timer per
 * connection:
 *
 * <pre>
 *   waiting for a request ──first byte──▶ receiving the head ──head──▶ receiving the body ──last part──▶ answering
 *     keepalive_timeout (silent close)     header_timeout from the     body_timeout while Portico     (upstream timeouts)
 *     header_timeout on a new connection   FIRST byte: 408, close      asks for bytes; min_body_rate:
 *                                          (slowloris cannot reset it) 408, close
 *   any time: output left unread for send_timeout ─▶ close
 * </pre>
 *
 * The body clocks run only while Portico is asking for bytes (a read is pending): when Portico
 * itself holds the client back because the upstream is slow, the client is not to blame. A
 * deadline moving later does not reschedule the timer; it fires, finds the new deadline and
 * re-arms, so a busy keep-alive connection schedules about once per timeout period.
 */
final class ClientDeadlines extends ChannelDuplexHandler implements Runnable {

    private enum State { AWAIT_HEAD, IN_HEAD, IN_BODY, ANSWERING }

    /**
     * How long a keep-alive connection waits between requests before it parks: its framing guard,
     * HTTP codec and this handler with its timer leave, and it waits in a {@link KeepAliveWaiting}
     * list (an idle connection then holds about 1.2 KB less), and the next bytes to arrive put fresh ones back (as
     * nginx frees a waiting connection's request buffers). Connections busier than this keep
     * theirs, and pay for no timer beyond about two a second.
     */
    static final long PARK_AFTER = TimeUnit.MILLISECONDS.toNanos(500);

    /** A listener's client timeouts in nanoseconds (and min_body_rate in bytes/s), made once per listener. */
    record Limits(long headerTimeout, long bodyTimeout, long keepaliveTimeout, long sendTimeout, long minBodyRate) {
        Limits(HttpListenerConfig config) {
            this(config.headerTimeout().toNanos(), config.bodyTimeout().toNanos(), config.keepaliveTimeout().toNanos(),
                    config.sendTimeout().toNanos(), config.minBodyRate().bytes());
        }
    }

    private final ListenerContext context;

    private ChannelHandlerContext ctx;
    private State state = State.AWAIT_HEAD;
    /** When the wait for a request ends: the keep-alive (or first request's) deadline, then the head's from its first byte. */
    private long awaitDeadline;
    private int outstanding;
    private boolean informational;
    private boolean sawMessage;

    private boolean readPending;
    private long waitStart;
    /** The body's min_body_rate clock, made at the first request; null while min_body_rate is off. */
    private BodyRate rate;

    private long unwritableSince;
    /** The output buffer as the send timeout last saw it; made the first time the connection is unwritable. */
    private OutputProgress sent;

    private ScheduledFuture<?> timer;
    private long timerAt;
    private boolean faulted;

    /** Since when the connection has waited for a request (AWAIT_HEAD), for parking. */
    private long idleSince;

    ClientDeadlines(ListenerContext context) {
        this.context = context;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (ctx.channel().isActive()) {
            start();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        start();
        ctx.fireChannelActive();
    }

    private void start() {
        if (awaitDeadline == 0) {
            // A new connection must send its first request within header_timeout (nginx).
            idleSince = ReadClock.nanoTime();
            awaitDeadline = idleSince + context.clientLimits().headerTimeout();
            arm(awaitWake());
        }
    }

    // ---- what the client sends ----------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest) {
            long now = ReadClock.nanoTime();
            sawMessage = true;
            outstanding++;
            state = State.IN_BODY;
            if (rate == null && context.clientLimits().minBodyRate() > 0) {
                rate = new BodyRate(context.clientLimits().minBodyRate(), context.clientLimits().bodyTimeout());
            }
            if (rate != null) {
                rate.start(now);
            }
            waitStart = now;
        }
        if (msg instanceof HttpContent content) {
            sawMessage = true;
            if (rate != null) {
                rate.received(content.content().readableBytes());
            }
            if (msg instanceof LastHttpContent && state == State.IN_BODY) {
                // The body's clock stops here: no need to read the time for it.
                if (outstanding == 0) {
                    // Answered before its end came in (a local answer is written at the head): the
                    // connection now waits for the next request.
                    awaitNextRequest();
                } else {
                    state = State.ANSWERING;
                }
            } else {
                waitStart = ReadClock.nanoTime();
            }
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.AWAIT_HEAD && !sawMessage && bytesOfANextRequest(ctx)) {
            // Bytes arrived but no whole head: the head's deadline starts now and never moves.
            state = State.IN_HEAD;
            awaitDeadline = ReadClock.nanoTime() + context.clientLimits().headerTimeout();
            arm(awaitDeadline);
        }
        if (sawMessage) {
            // The decoder asks for more by itself while a message is incomplete; after whole
            // messages it is up to the proxy handler, which reads again below if it wants to.
            readPending = false;
            if (rate != null) {
                rate.pause(ReadClock.nanoTime());
            }
        }
        sawMessage = false;
        ctx.fireChannelReadComplete();
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (!readPending) {
            readPending = true;
            if (state == State.IN_BODY) {
                long now = ReadClock.nanoTime();
                if (rate != null) {
                    rate.resume(now);
                }
                waitStart = now;
                arm(bodyDeadline());
            }
        }
        ctx.read();
    }

    // ---- what Portico sends ---------------------------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response) {
            informational = response.status().code() < 200;
        }
        if (msg instanceof LastHttpContent) {
            if (informational) {
                informational = false;
            } else if (outstanding > 0 && --outstanding == 0 && state == State.ANSWERING) {
                awaitNextRequest();
            }
        }
        ctx.write(msg, promise);
    }

    /** Every request so far is in and answered: the keep-alive clock runs until the next one. */
    private void awaitNextRequest() {
        state = State.AWAIT_HEAD;
        idleSince = ReadClock.nanoTime();
        awaitDeadline = idleSince + context.clientLimits().keepaliveTimeout();
        arm(awaitWake());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            unwritableSince = 0;
        } else if (unwritableSince == 0) {
            unwritableSince = ReadClock.nanoTime();
            if (sent == null) {
                sent = new OutputProgress();
            }
            sent.reset(ctx.channel());
            arm(unwritableSince + context.clientLimits().sendTimeout());
        }
        ctx.fireChannelWritabilityChanged();
    }

    // ---- the timer ----------------------------------------------------------------------------

    @Override
    public void run() {
        timer = null;
        if (faulted || !ctx.channel().isActive()) {
            return;
        }
        long now = System.nanoTime();
        if (unwritableSince != 0) {
            // Nothing pending means the connection is unwritable for the memory budget, not for the client.
            if (sent.drained(ctx.channel())) {
                // The client took some bytes: that counts as progress, as a successful write does in nginx.
                unwritableSince = now;
            }
            if (now - unwritableSince >= context.clientLimits().sendTimeout()) {
                faulted = true;
                ctx.close();
                return;
            }
        }
        switch (state) {
            case AWAIT_HEAD -> {
                if (now - awaitDeadline >= 0) {
                    // Nothing of a request arrived: close quietly, as nginx does.
                    faulted = true;
                    ctx.close();
                    return;
                }
                if (now - (idleSince + PARK_AFTER) >= 0) {
                    if (pendingBytes() > 0) {
                        // The client has not taken all of the last response yet: the send clock is
                        // this handler's, so the connection parks later, once it has.
                        idleSince = now;
                    } else if (park()) {
                        return;
                    } else {
                        // Not now (mostly a new plain connection whose h2c filter waits for its first
                        // request): not again until the next request, so no timer runs for nothing.
                        idleSince = awaitDeadline;
                    }
                }
            }
            case IN_HEAD -> {
                if (now - awaitDeadline >= 0) {
                    fault("client_header_timeout");
                    return;
                }
            }
            case IN_BODY -> {
                if (readPending) {
                    if (now - (waitStart + context.clientLimits().bodyTimeout()) >= 0) {
                        fault("client_body_timeout");
                        return;
                    }
                    if (rate != null && rate.tooSlow(now)) {
                        fault(BodyRate.REASON);
                        return;
                    }
                }
            }
            default -> {
            }
        }
        long next = nextDeadline();
        if (next != 0) {
            arm(next);
        }
    }

    private void fault(String reason) {
        faulted = true;
        ctx.fireUserEventTriggered(new ClientFault(HttpResponseStatus.REQUEST_TIMEOUT, reason));
    }

    private long nextDeadline() {
        long next = switch (state) {
            case AWAIT_HEAD -> awaitWake();
            case IN_HEAD -> awaitDeadline;
            case IN_BODY -> readPending ? bodyDeadline() : 0;
            case ANSWERING -> 0;
        };
        if (unwritableSince != 0) {
            // Sampled at least twice per period so that progress is seen.
            long send = Math.min(unwritableSince + context.clientLimits().sendTimeout(), System.nanoTime() + context.clientLimits().sendTimeout() / 2);
            next = next == 0 || send - next < 0 ? send : next;
        }
        return next;
    }

    /** The earlier of body_timeout from the last ask and the min_body_rate deadline. */
    private long bodyDeadline() {
        long gap = waitStart + context.clientLimits().bodyTimeout();
        return rate == null ? gap : rate.earlier(gap);
    }

    /** The earlier of the keep-alive (or first request's) deadline and the moment to park. */
    private long awaitWake() {
        long parkAt = idleSince + PARK_AFTER;
        return parkAt - awaitDeadline < 0 ? parkAt : awaitDeadline;
    }

    /**
     * Parks the connection if it is between requests (no byte of a next request seen, none held by
     * the decoder, nothing in progress in the proxy handler): the framing guard, the codec and this
     * handler leave, and the proxy handler waits in a {@link KeepAliveWaiting} list, which keeps the keep-alive deadline.
     */
    private boolean park() {
        ChannelPipeline pipeline = ctx.pipeline();
        ChannelHandler framing = pipeline.get(Http1ServerInitializer.FRAMING);
        Http1ProxyHandler proxy = pipeline.get(Http1ProxyHandler.class);
        if (!(framing instanceof RequestFramingGuard guard) || !guard.idle()
                || pipeline.get(Http1ServerInitializer.HTTP_CODEC) == null || proxy == null || !proxy.idle()
                // Before a plain connection's first request, the h2c upgrade filter sits between the
                // codec and this handler and would see raw bytes: such a connection waits.
                || pipeline.get(H2cUpgradeFilter.class) != null) {
            return false;
        }
        // The guard has seen nothing since the last message ended, so the decoder holds no bytes.
        pipeline.remove(guard);
        pipeline.remove(Http1ServerInitializer.HTTP_CODEC);
        pipeline.remove(this);
        context.waiting(ctx.executor()).add(proxy, awaitDeadline);
        return true;
    }

    /**
     * Whether bytes of a next request came in: the framing guard has seen some since the last
     * message ended. A read can also complete with nothing in it (the one the proxy handler asks
     * for after a locally answered request, say), which must not start a head's deadline: that
     * took a connection waiting between requests for one in the middle of a head, so it never
     * parked and was answered 408 at header_timeout instead of closing quietly at keepalive_timeout.
     */
    private static boolean bytesOfANextRequest(ChannelHandlerContext ctx) {
        ChannelHandler framing = ctx.pipeline().get(Http1ServerInitializer.FRAMING);
        return !(framing instanceof RequestFramingGuard guard) || !guard.idle();
    }

    private long pendingBytes() {
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    private void arm(long deadline) {
        if (timer != null) {
            if (timerAt - deadline <= 0) {
                return;
            }
            timer.cancel(false);
        }
        timerAt = deadline;
        timer = ctx.executor().schedule(this, Math.max(0, deadline - ReadClock.nanoTime()), TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
