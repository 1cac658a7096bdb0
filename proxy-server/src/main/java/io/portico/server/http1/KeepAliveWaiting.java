package io.portico.server.http1;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.http.ReadClock;

import java.util.concurrent.TimeUnit;

/**
 * The parked keep-alive connections of one listener context on one event loop, in deadline order
 * (they share one keep-alive timeout, so a new one almost always goes last), with one timer for
 * the earliest. Touched only by its event loop.
 *
 * <p>A connection that has waited {@link ClientDeadlines#PARK_AFTER} between requests parks: the
 * framing guard, the HTTP/1.1 codec and {@link ClientDeadlines} (with that handler's timer) leave
 * its pipeline, and its {@link Http1ProxyHandler} joins this list, which closes it at its
 * keep-alive deadline, as nginx keeps a waiting connection in its timer tree and frees its
 * request buffers. The list's links live in the proxy handler itself: a parked connection holds
 * no object of its own (an idle connection's memory is one of bin/bench's figures). The first
 * bytes to arrive put fresh handlers back ({@link Http1ProxyHandler#unpark}).
 */
final class KeepAliveWaiting implements Runnable {

    /** Deadlines this close together are served by one wake-up. */
    private static final long SLACK = TimeUnit.MILLISECONDS.toNanos(10);

    private final ListenerContext context;
    private final EventExecutor loop;
    private Http1ProxyHandler head;
    private Http1ProxyHandler tail;
    private ScheduledFuture<?> timer;
    private long timerAt;

    KeepAliveWaiting(ListenerContext context, EventExecutor loop) {
        this.context = context;
        this.loop = loop;
    }

    ListenerContext context() {
        return context;
    }

    /** Parks {@code p} until {@code deadline} (nanoTime), unless it is parked already. */
    void add(Http1ProxyHandler p, long deadline) {
        if (p.parkedIn != null) {
            return;
        }
        p.parkedUntil = deadline;
        Http1ProxyHandler after = tail;
        while (after != null && after.parkedUntil - deadline > 0) {
            after = after.parkedPrev;
        }
        p.parkedPrev = after;
        p.parkedNext = after == null ? head : after.parkedNext;
        if (p.parkedNext != null) {
            p.parkedNext.parkedPrev = p;
        } else {
            tail = p;
        }
        if (after != null) {
            after.parkedNext = p;
        } else {
            head = p;
        }
        p.parkedIn = this;
        context.lifecycle().parked(1);
        if (head == p) {
            arm(deadline);
        }
    }

    void remove(Http1ProxyHandler p) {
        if (p.parkedIn != this) {
            return;
        }
        if (p.parkedPrev != null) {
            p.parkedPrev.parkedNext = p.parkedNext;
        } else {
            head = p.parkedNext;
        }
        if (p.parkedNext != null) {
            p.parkedNext.parkedPrev = p.parkedPrev;
        } else {
            tail = p.parkedPrev;
        }
        p.parkedPrev = null;
        p.parkedNext = null;
        p.parkedIn = null;
        context.lifecycle().parked(-1);
        // A timer for a deadline that left with p fires early, finds nothing due and re-arms.
    }

    /** Closes the connections whose deadline has come, quietly (as nginx's keepalive_timeout). */
    @Override
    public void run() {
        timer = null;
        long now = System.nanoTime();
        while (head != null && now - head.parkedUntil >= 0) {
            Http1ProxyHandler p = head;
            remove(p);
            p.ctx().close();
        }
        if (head != null) {
            arm(Math.max(head.parkedUntil, now + SLACK));
        }
    }

    private void arm(long at) {
        if (timer != null) {
            if (timerAt - at <= 0) {
                return;
            }
            timer.cancel(false);
        }
        timerAt = at;
        timer = loop.schedule(this, Math.max(0, at - ReadClock.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
