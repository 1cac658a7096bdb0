package io.portico.server.http1;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * The client clocks of one HTTP/2 or HTTP/3 request stream, as {@link ClientDeadlines} keeps them
 * for an HTTP/1.1 connection, on one timer per stream: the listener's {@code http.header_timeout}
 * from the stream's opening to its complete head (HTTP/3 only: Netty's HTTP/2 codec opens a stream
 * with its head already complete), then {@code http.body_timeout} while the exchange asks for body
 * bytes and none come, and with {@code http.min_body_rate} set, the body's rate ({@link BodyRate},
 * HTTP/1.1's clock). Each ends in {@link Owner#clientTimeout}, with {@code client_header_timeout},
 * {@code client_body_timeout} or {@code client_body_too_slow}; the stream bridge then hands the
 * exchange handler a 408 {@link ClientFault}, as {@link ClientDeadlines} does.
 *
 * <p>A deadline moving later does not reschedule the timer: it fires, finds the later deadline and
 * re-arms, so a busy upload schedules about once per body_timeout. Everything runs on the stream's
 * event loop.
 */
public final class StreamDeadlines implements Runnable {

    /** The access log's reason for a head that came too late. */
    public static final String HEADER_TIMEOUT = "client_header_timeout";
    /** The access log's reason for a body that stopped coming. */
    public static final String BODY_TIMEOUT = "client_body_timeout";

    /** What a stream bridge does when a clock runs out (it is stopped by then). */
    public interface Owner {
        /** @param reason {@link #HEADER_TIMEOUT}, {@link #BODY_TIMEOUT} or {@link BodyRate#REASON} */
        void clientTimeout(String reason);
    }

    private enum State { HEAD, BODY, DONE }

    private final ChannelHandlerContext ctx;
    private final Owner owner;
    private final long bodyTimeoutNanos;
    /** The body's min_body_rate clock; null while min_body_rate is off. */
    private final BodyRate rate;
    private State state = State.BODY;
    private long headerDeadline;
    /** The exchange asked for body bytes and none came since {@link #waitStart}. */
    private boolean readPending;
    private long waitStart;
    private ScheduledFuture<?> timer;
    private long timerAt;

    /**
     * Clocks for the stream of {@code ctx}, with no head to wait for until {@link #awaitHead}
     * (the body's rate counts from now, or from {@link #headDone} after {@link #awaitHead}).
     *
     * @param bodyTimeoutNanos the listener's body_timeout
     * @param minBodyRate      the listener's min_body_rate in bytes per second (0: off)
     */
    public StreamDeadlines(ChannelHandlerContext ctx, Owner owner, long bodyTimeoutNanos, long minBodyRate) {
        this.ctx = ctx;
        this.owner = owner;
        this.bodyTimeoutNanos = bodyTimeoutNanos;
        this.rate = minBodyRate > 0 ? new BodyRate(minBodyRate, bodyTimeoutNanos) : null;
        if (rate != null) {
            rate.start(System.nanoTime());
        }
    }

    /** The stream opened without its head: it is due within {@code headerTimeoutNanos} from now. */
    public void awaitHead(long headerTimeoutNanos) {
        state = State.HEAD;
        headerDeadline = System.nanoTime() + headerTimeoutNanos;
        arm(headerDeadline);
    }

    /** The head is complete: from now on the body's clock runs whenever the exchange asks for bytes. */
    public void headDone() {
        if (state == State.HEAD) {
            state = State.BODY;
            if (rate != null) {
                rate.start(System.nanoTime());
            }
        }
    }

    /**
     * The exchange asks for bytes (an outbound {@code read()}): while the body is due, body_timeout
     * runs from here until {@link #bytesReceived}. The bridge calls it only while a body is to come.
     */
    public void readRequested() {
        if (state == State.BODY && !readPending) {
            readPending = true;
            waitStart = System.nanoTime();
            if (rate != null) {
                rate.resume(waitStart);
            }
            arm(bodyDeadline());
        }
    }

    /** {@code n} body bytes came: the body's clock starts again with the exchange's next ask. */
    public void bytesReceived(long n) {
        readPending = false;
        if (rate != null) {
            rate.received(n);
            rate.pause(System.nanoTime());
        }
    }

    /** The earlier of body_timeout from the exchange's last ask and the min_body_rate deadline. */
    private long bodyDeadline() {
        long gap = waitStart + bodyTimeoutNanos;
        return rate == null ? gap : rate.earlier(gap);
    }

    /** The request is complete, refused or reset, or the stream closed: no clock runs any more. */
    public void stop() {
        state = State.DONE;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The timer: a deadline that moved later re-arms it. */
    @Override
    public void run() {
        timer = null;
        if (state == State.DONE || !ctx.channel().isActive()) {
            return;
        }
        long now = System.nanoTime();
        if (state == State.HEAD) {
            if (now - headerDeadline >= 0) {
                stop();
                owner.clientTimeout(HEADER_TIMEOUT);
            } else {
                arm(headerDeadline);
            }
            return;
        }
        if (readPending) {
            if (now - (waitStart + bodyTimeoutNanos) >= 0) {
                stop();
                owner.clientTimeout(BODY_TIMEOUT);
            } else if (rate != null && rate.tooSlow(now)) {
                stop();
                owner.clientTimeout(BodyRate.REASON);
            } else {
                arm(bodyDeadline());
            }
        }
    }

    private void arm(long at) {
        if (timer != null) {
            if (at - timerAt >= 0) {
                // It fires first, finds the later deadline and re-arms.
                return;
            }
            timer.cancel(false);
        }
        timerAt = at;
        timer = ctx.executor().schedule(this, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
