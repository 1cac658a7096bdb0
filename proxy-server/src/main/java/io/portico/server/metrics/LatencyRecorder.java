package io.portico.server.metrics;

import io.netty.util.concurrent.FastThreadLocal;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import java.util.concurrent.TimeUnit;

/**
 * Latencies of one labelled series, recorded with HdrHistogram. Each recording thread (in practice
 * each event loop) has its own {@link SingleWriterRecorder}, found through a
 * {@link FastThreadLocal}, so {@link #record} is wait-free, allocation-free and touches no cache
 * line another loop writes. Readers (a scrape, the dashboard's sampler) harvest every thread's
 * interval histogram under this object's monitor, off the event loops, into a sliding window of
 * the last minute (summary quantiles) and into the histogram since the previous {@link #takeSample}.
 */
public final class LatencyRecorder {

    /** Values are microseconds from 1 µs to one hour, two significant digits (1% resolution). */
    static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);
    private static final int DIGITS = 2;
    /** The quantile window: {@value #SLOTS} slots of {@value #SLOT_MILLIS} ms. */
    static final int SLOTS = 6;
    static final long SLOT_MILLIS = 10_000;

    /**
     * One thread's recorder and the interval histogram it recycles (HdrHistogram wants its own
     * back), and its count and sum since start: written by that thread alone, with release stores
     * (plain stores on x86, where a LongAdder's CAS was a locked instruction per value), read by
     * the harvesting thread with acquire loads.
     */
    private static final class PerThread {
        private static final VarHandle COUNT;
        private static final VarHandle SUM;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                COUNT = lookup.findVarHandle(PerThread.class, "count", long.class);
                SUM = lookup.findVarHandle(PerThread.class, "sumMicros", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final SingleWriterRecorder recorder = new SingleWriterRecorder(1, HIGHEST_MICROS, DIGITS);
        Histogram interval;
        @SuppressWarnings("unused") // through COUNT
        private long count;
        @SuppressWarnings("unused") // through SUM
        private long sumMicros;

        void record(long micros) {
            recorder.recordValue(micros);
            COUNT.setRelease(this, (long) COUNT.get(this) + 1);
            SUM.setRelease(this, (long) SUM.get(this) + micros);
        }

        long count() {
            return (long) COUNT.getAcquire(this);
        }

        long sumMicros() {
            return (long) SUM.getAcquire(this);
        }
    }

    private final List<PerThread> recorders = new CopyOnWriteArrayList<>();
    private final FastThreadLocal<PerThread> recorder = new FastThreadLocal<>() {
        @Override
        protected PerThread initialValue() {
            PerThread r = new PerThread();
            recorders.add(r);
            return r;
        }
    };
    private final Histogram[] slots = new Histogram[SLOTS];
    private final long[] slotIds = new long[SLOTS];
    private final Histogram merged = new Histogram(1, HIGHEST_MICROS, DIGITS);
    private final Histogram sinceSample = new Histogram(1, HIGHEST_MICROS, DIGITS);

    LatencyRecorder() {
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new Histogram(1, HIGHEST_MICROS, DIGITS);
            slotIds[i] = -1;
        }
    }

    /** Records one latency; negative values (nothing measured) are ignored. */
    public void record(long nanos) {
        if (nanos < 0) {
            return;
        }
        long micros = Math.max(1, Math.min(HIGHEST_MICROS, nanos / 1000));
        recorder.get().record(micros);
    }

    /** Values recorded since start. */
    public long count() {
        long n = 0;
        for (PerThread r : recorders) {
            n += r.count();
        }
        return n;
    }

    /** Sum of the values recorded since start, in seconds. */
    public double sumSeconds() {
        long micros = 0;
        for (PerThread r : recorders) {
            micros += r.sumMicros();
        }
        return micros / 1e6;
    }

    private void harvest(long nowMillis) {
        for (PerThread r : recorders) {
            r.interval = r.recorder.getIntervalHistogram(r.interval);
            if (r.interval.getTotalCount() > 0) {
                add(r.interval, nowMillis);
            }
        }
    }

    private void add(Histogram interval, long nowMillis) {
        long slot = nowMillis / SLOT_MILLIS;
        int i = (int) (slot % SLOTS);
        if (slotIds[i] != slot) {
            slots[i].reset();
            slotIds[i] = slot;
        }
        slots[i].add(interval);
        sinceSample.add(interval);
    }

    /**
     * Quantiles (in seconds) over the last minute, one per entry of {@code quantiles}; NaN when
     * nothing was recorded in that minute.
     */
    public synchronized double[] windowQuantiles(double[] quantiles, long nowMillis) {
        harvest(nowMillis);
        merged.reset();
        long current = nowMillis / SLOT_MILLIS;
        for (int i = 0; i < SLOTS; i++) {
            if (slotIds[i] > current - SLOTS) {
                merged.add(slots[i]);
            }
        }
        return quantiles(merged, quantiles);
    }

    /**
     * Quantiles (in seconds) of what was recorded since the previous call, then starts a new sample;
     * NaN when nothing was recorded. For the dashboard's once-a-second sampler.
     */
    public synchronized double[] takeSample(double[] quantiles, long nowMillis) {
        harvest(nowMillis);
        double[] q = quantiles(sinceSample, quantiles);
        sinceSample.reset();
        return q;
    }

    private static double[] quantiles(Histogram h, double[] quantiles) {
        double[] out = new double[quantiles.length];
        boolean empty = h.getTotalCount() == 0;
        for (int i = 0; i < quantiles.length; i++) {
            out[i] = empty ? Double.NaN : h.getValueAtPercentile(quantiles[i] * 100) / 1e6;
        }
        return out;
    }
}
