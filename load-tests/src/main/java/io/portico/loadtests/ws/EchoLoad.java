package io.portico.loadtests.ws;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;

import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Round trips: SOCKETS WebSockets each send a message, await its echo, check it and send the
 * next, for SECONDS. Sockets are all open (and each has had one verified echo) before the clock
 * starts; only round trips completed inside the window count (with {@code --go}, the window
 * opens on a line from stdin). Prints one line,
 * {@code BENCH requests=... duration_us=... p50_us=... p90_us=... p99_us=... p999_us=... max_us=...
 * connect_err=... read_err=... write_err=0 status_err=... timeout_err=...}: sockets that did not
 * come up, sockets closed during the run, echoes that did not match, sockets whose last echo never
 * came back.
 */
final class EchoLoad {

    private EchoLoad() {
    }

    static int run(URI uri, int sockets, int seconds, int messageBytes, boolean awaitGo) throws Exception {
        EventLoopGroup loop = Transport.oneLoop();
        try {
            Window window = new Window();
            List<RoundTrips> handlers = Sockets.open(loop, uri, sockets, id -> new RoundTrips(id, messageBytes, window));
            int notUp = sockets - handlers.size();
            if (awaitGo) {
                // bin/bench reads the proxy's CPU counters between "open" and its "go", so the
                // handshakes are not charged to the round trips.
                System.out.println("open " + handlers.size());
                System.out.flush();
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII)).readLine();
            }
            long[] span = new long[2];
            loop.submit(() -> {
                window.running = true;
                span[0] = System.nanoTime();
                for (RoundTrips h : handlers) {
                    h.start();
                }
            }).sync();
            TimeUnit.SECONDS.sleep(seconds);
            long completed = loop.submit(() -> {
                window.running = false;
                span[1] = System.nanoTime();
                return window.completed;
            }).get();
            // Let the last messages come back, so a lost echo is told apart from one in flight.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            int waiting;
            do {
                waiting = loop.submit(() -> countWaiting(handlers)).get();
                if (waiting > 0) {
                    TimeUnit.MILLISECONDS.sleep(20);
                }
            } while (waiting > 0 && System.nanoTime() < deadline);
            int lost = waiting;
            Histogram h = window.latency;
            long durationUs = (span[1] - span[0]) / 1000;
            int closedEarly = loop.submit(() -> window.closed).get();
            long mismatches = loop.submit(() -> window.mismatches).get();
            System.out.println("BENCH requests=" + completed + " duration_us=" + durationUs + " bytes=0"
                    + " p50_us=" + h.getValueAtPercentile(50) + " p90_us=" + h.getValueAtPercentile(90)
                    + " p99_us=" + h.getValueAtPercentile(99) + " p999_us=" + h.getValueAtPercentile(99.9)
                    + " max_us=" + h.getMaxValue() + " connect_err=" + notUp + " read_err=" + closedEarly
                    + " write_err=0 status_err=" + mismatches + " timeout_err=" + lost);
            Sockets.closeAll(handlers);
            return notUp == 0 && closedEarly == 0 && mismatches == 0 && lost == 0 ? 0 : 1;
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static int countWaiting(List<RoundTrips> handlers) {
        int n = 0;
        for (RoundTrips h : handlers) {
            if (h.waiting && h.channel().isActive()) {
                n++;
            }
        }
        return n;
    }

    /** What the sockets of one run share; touched on the event loop only. */
    private static final class Window {
        static final long MAX_MICROS = TimeUnit.SECONDS.toMicros(60);
        final Histogram latency = new Histogram(MAX_MICROS, 3);
        volatile boolean running;
        long completed;
        long mismatches;
        int closed;
    }

    /** A socket in the loop: each verified echo is counted and answered with the next message. */
    private static final class RoundTrips extends SocketHandler {

        private final Window window;
        private ChannelHandlerContext ctx;
        boolean waiting;

        RoundTrips(int id, int messageBytes, Window window) {
            super(id, messageBytes);
            this.window = window;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        void start() {
            waiting = true;
            send(ctx);
        }

        @Override
        void echoed(ChannelHandlerContext ctx, long latencyNanos) {
            waiting = false;
            if (window.running) {
                window.completed++;
                // Clamped to the histogram's range: HdrHistogram throws on a value above it.
                window.latency.recordValue(Math.min(Window.MAX_MICROS, Math.max(1, latencyNanos / 1000)));
                waiting = true;
                send(ctx);
            }
        }

        @Override
        void mismatched(ChannelHandlerContext ctx) {
            window.mismatches++;
        }

        @Override
        void closed() {
            if (window.running) {
                window.closed++;
            }
        }
    }
}
