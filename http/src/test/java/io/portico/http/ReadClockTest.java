package io.portico.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ReadClockTest {

    /** Spins (no sleeping) until System.nanoTime() has moved past {@code t}. */
    private static void awaitPast(long t) {
        while (System.nanoTime() - t <= 0) {
            Thread.onSpinWait();
        }
    }

    @Test
    void insideAReadTheTimeIsTheReadsAndOutsideItIsFresh() {
        long before = System.nanoTime();
        ReadClock clock = ReadClock.enter();
        long read;
        try {
            read = ReadClock.nanoTime();
            assertThat(read - before).isGreaterThanOrEqualTo(0);
            awaitPast(read);
            // Whatever the read sets off sees the time it began.
            assertThat(ReadClock.nanoTime()).isEqualTo(read);
        } finally {
            clock.exit();
        }
        assertThat(ReadClock.nanoTime() - read).isGreaterThan(0);
    }

    @Test
    void anInnerReadKeepsTheOuterTimeAndExitsOnlyItsOwnScope() {
        ReadClock outer = ReadClock.enter();
        long read;
        try {
            read = ReadClock.nanoTime();
            awaitPast(read);
            ReadClock inner = ReadClock.enter();
            try {
                assertThat(ReadClock.nanoTime()).isEqualTo(read);
            } finally {
                inner.exit();
            }
            assertThat(ReadClock.nanoTime()).isEqualTo(read);
        } finally {
            outer.exit();
        }
        assertThat(ReadClock.nanoTime() - read).isGreaterThan(0);
    }

    @Test
    void eachThreadHasItsOwnClock() throws Exception {
        ReadClock clock = ReadClock.enter();
        try {
            long read = ReadClock.nanoTime();
            awaitPast(read);
            long[] other = new long[1];
            Thread t = new Thread(() -> other[0] = ReadClock.nanoTime());
            t.start();
            t.join();
            assertThat(other[0] - read).isGreaterThan(0);
        } finally {
            clock.exit();
        }
    }
}
