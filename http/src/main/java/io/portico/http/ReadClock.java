package io.portico.http;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * The clock of the read an event loop is handling: {@link #nanoTime()} is {@link System#nanoTime()}
 * read once when the read began ({@link #enter}), for everything that read sets off on the same
 * thread, and a fresh {@code System.nanoTime()} anywhere else. A proxied request read the clock
 * about ten times (its arrival, the body and keep-alive clocks, the pick of a backend, the
 * response's deadlines, the pool's idle mark, the access log's times), about 17 ns each on this
 * project's benchmark machine, some 1.5 % of the CPU of a small request; with reads of the bytes
 * of a request and of its response in scope it reads it twice.
 *
 * <p>A time taken this way is late by at most the time the read took to handle, as nginx's time
 * cached for each pass of its event loop is: deadlines armed from it fire that much early (they
 * are seconds; a read is handled in microseconds, a very long pipelined one in a few
 * milliseconds), and durations measured across reads are whole.
 *
 * <p>Scopes nest (a read handled inside another keeps the outer time) and belong to one thread.
 */
public final class ReadClock {

    private static final FastThreadLocal<ReadClock> CLOCKS = new FastThreadLocal<>() {
        @Override
        protected ReadClock initialValue() {
            return new ReadClock();
        }
    };

    private long now;
    private int depth;

    private ReadClock() {
    }

    /** The time of the read this thread is handling, or {@link System#nanoTime()} outside of one. */
    public static long nanoTime() {
        ReadClock clock = CLOCKS.get();
        return clock.depth > 0 ? clock.now : System.nanoTime();
    }

    /**
     * A read begins: until the matching {@link #exit}, {@link #nanoTime()} on this thread returns
     * the time read now (or the enclosing read's). Call {@code exit} in a {@code finally}.
     *
     * @return the clock to {@link #exit}
     */
    public static ReadClock enter() {
        ReadClock clock = CLOCKS.get();
        if (clock.depth++ == 0) {
            clock.now = System.nanoTime();
        }
        return clock;
    }

    /** The read {@link #enter} began is handled. */
    public void exit() {
        depth--;
    }
}
