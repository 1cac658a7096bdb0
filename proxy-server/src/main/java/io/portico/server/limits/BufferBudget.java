package io.portico.server.limits;

import io.netty.channel.WriteBufferWaterMark;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * The memory budget for bytes Portico holds on their way to clients, across all connections.
 *
 * <p>Per connection, the output buffer may hold {@code connection_buffer} bytes before the
 * connection turns unwritable and Portico stops reading whatever feeds it (the upstream, for a
 * response) — that is the per-connection budget, and it alone keeps one slow reader flat. An
 * HTTP/2 connection, whose one buffer carries all its streams, may hold
 * {@code http2_connection_buffer} (never more than the whole budget). Many
 * slow readers together could still hold many such buffers, so a sampler thread adds up, every
 * {@value #SAMPLE_MILLIS} ms, the pending output of the client connections that are unwritable
 * (at their {@code connection_buffer}, or held by the budget); over {@code buffer_memory}, every
 * client connection is marked unwritable (Netty's user-defined writability, so upstream reads stop
 * exactly as they do for a slow client) and stops reading new requests; below three quarters of
 * the budget, all resume. Request bodies are already bounded per connection: a client is read only
 * while its upstream connection is writable.
 *
 * <p>A connection joins the sampled set when it turns unwritable and leaves it when it is
 * writable again, so a sample costs in proportion to the connections that are behind, not to all
 * that are open: walking every one of 10,000 connections 50 times a second would cost a
 * noticeable share of a core. What the writable connections hold (each less than its
 * {@code connection_buffer}, or {@code http2_connection_buffer}) is added from a walk over every
 * connection once every {@value #FULL_WALK_MILLIS} ms, so what writable connections fill up is
 * seen up to that late. Sampling keeps the event loops free of shared
 * counters; the price is that the budget can be overshot by what connections read in between.
 *
 * <p>While no connection is behind and reading is not stopped, the sampler sleeps between full
 * walks, once a second, and the first connection to turn unwritable wakes it. A thread that woke
 * every {@value #SAMPLE_MILLIS} ms for nothing would take the event loops' cores from them 50
 * times a second (on a loaded core, a wake-up preempts the loop), all to add up zero.
 */
public final class BufferBudget implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("portico");

    static final int SAMPLE_MILLIS = 20;
    /** Between walks over every connection. */
    static final int FULL_WALK_MILLIS = 1000;
    private static final long SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(SAMPLE_MILLIS);
    private static final long FULL_WALK_NANOS = TimeUnit.MILLISECONDS.toNanos(FULL_WALK_MILLIS);

    private final long budget;
    private final long resumeBelow;
    private final WriteBufferWaterMark waterMark;
    private final WriteBufferWaterMark http2WaterMark;
    /** Every open client connection's gate: a live view of the server's connection registry. */
    private final Iterable<? extends ReadGate> gates;
    /** The gates of the connections that are unwritable now: all that a sample adds up. */
    private final Set<ReadGate> behind = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService sampler;
    private final LongAdder pressureEvents = new LongAdder();
    /** The sampler sleeps until the next full walk: a connection turning unwritable must wake it. */
    private final AtomicBoolean asleep = new AtomicBoolean();
    /** Sampler thread only: the next sample, cancelled when a connection wakes the sampler early. */
    private ScheduledFuture<?> next;
    /** Sampler thread only: a sample has failed before (logged once). */
    private boolean sampleFailed;
    private volatile boolean pressure;
    private volatile long buffered;
    /** Sampler thread only: when the last full walk was, and what writable connections held then. */
    private long lastFullWalk = System.nanoTime() - FULL_WALK_NANOS;
    private long heldByWritable;
    private volatile long peak;
    private volatile long samples;

    /**
     * @param budget           bytes over all connections, 0 for none
     * @param connectionBuffer one connection's high-water mark
     * @param http2ConnectionBuffer an HTTP/2 connection's high-water mark
     * @param gates            the gates of the open client connections, read by the sampler thread: a
     *                         view of a registry the connections are in anyway, so that a connection
     *                         pays for no second entry here
     */
    public BufferBudget(long budget, long connectionBuffer, long http2ConnectionBuffer,
                        Iterable<? extends ReadGate> gates) {
        this.budget = budget;
        this.gates = gates;
        this.resumeBelow = budget - budget / 4;
        this.waterMark = new WriteBufferWaterMark((int) connectionBuffer / 2, (int) connectionBuffer);
        long http2 = budget > 0 ? Math.min(http2ConnectionBuffer, budget) : http2ConnectionBuffer;
        this.http2WaterMark = new WriteBufferWaterMark((int) http2 / 2, (int) http2);
        if (budget > 0) {
            sampler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "portico-buffer-budget");
                t.setDaemon(true);
                return t;
            });
            sampler.execute(this::tick);
        } else {
            sampler = null;
        }
    }

    /** One connection's output buffer limits: one instance, shared by every connection. */
    WriteBufferWaterMark waterMark() {
        return waterMark;
    }

    /**
     * An HTTP/2 connection's output buffer limits. Its one buffer carries the frames of all its
     * streams, and each time it crosses the high-water mark every open stream is told it may not
     * write and, below the low one, that it may again: the stream channels' writability events,
     * the flow controller's walk over every active stream, and each stream's exchange pausing and
     * resuming its upstream. With the HTTP/1 size (a 64 KiB mark for a connection carrying, say,
     * 32 responses of 16 KiB at once) that churn cost 12-16 % of the requests per second.
     */
    public WriteBufferWaterMark http2WaterMark() {
        return http2WaterMark;
    }

    boolean underPressure() {
        return pressure;
    }

    /** Called on the gate's event loop when its connection turns unwritable. */
    void behind(ReadGate gate) {
        if (sampler != null) {
            behind.add(gate);
            if (asleep.get() && asleep.compareAndSet(true, false)) {
                try {
                    sampler.execute(this::wake);
                } catch (RejectedExecutionException closed) {
                    // The server is stopping: nothing samples any more.
                }
            }
        }
    }

    /** Called on the gate's event loop when its connection is writable again or closed. */
    void caughtUp(ReadGate gate) {
        behind.remove(gate);
    }

    /** Sampler thread: a connection fell behind while the sampler slept. */
    private void wake() {
        next.cancel(false);
        tick();
    }

    /** Sampler thread: one sample, then the next one soon while anything is behind, else at the next full walk. */
    private void tick() {
        try {
            sample();
        } catch (RuntimeException e) {
            // A failed sample (a connection torn down under it, the server stopping) must not end
            // sampling; said once, as it could repeat every 20 ms.
            LOG.log(sampleFailed ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
                    "buffer budget sample failed", e);
            sampleFailed = true;
        }
        if (sampler.isShutdown()) {
            return;
        }
        if (behind.isEmpty() && !pressure) {
            // Asleep first, then look again: a connection that fell behind in between either
            // sees asleep and wakes the sampler, or is seen here.
            asleep.set(true);
            if (behind.isEmpty() || !asleep.compareAndSet(true, false)) {
                long untilWalk = FULL_WALK_NANOS - (System.nanoTime() - lastFullWalk);
                next = sampler.schedule(this::tick, Math.max(untilWalk, SAMPLE_NANOS), TimeUnit.NANOSECONDS);
                return;
            }
        }
        next = sampler.schedule(this::tick, SAMPLE_NANOS, TimeUnit.NANOSECONDS);
    }

    private void sample() {
        long now = System.nanoTime();
        if (now - lastFullWalk >= FULL_WALK_NANOS) {
            lastFullWalk = now;
            long writable = 0;
            for (ReadGate g : gates) {
                if (!g.isBehind()) {
                    writable += g.pendingBytes();
                }
            }
            heldByWritable = writable;
        }
        long total = heldByWritable;
        for (ReadGate g : behind) {
            total += g.pendingBytes();
        }
        buffered = total;
        if (total > peak) {
            peak = total;
        }
        if (!pressure && total > budget) {
            pressure = true;
            pressureEvents.increment();
            for (ReadGate g : gates) {
                g.pressureChanged(true);
            }
        } else if (pressure && total <= resumeBelow) {
            pressure = false;
            for (ReadGate g : gates) {
                g.pressureChanged(false);
            }
        }
        samples++;
    }

    /** Samples taken since startup (one thread writes it). */
    public long samples() {
        return samples;
    }

    /** Bytes in client output buffers at the last sample (the writable connections' as of the last full walk). */
    public long buffered() {
        return buffered;
    }

    /** The most seen in one sample since startup. */
    public long peak() {
        return peak;
    }

    /** Times the budget was exceeded and reading stopped everywhere. */
    public long pressureEvents() {
        return pressureEvents.sum();
    }

    /** Whether reading is stopped for the budget now. */
    public boolean pressure() {
        return pressure;
    }

    @Override
    public void close() {
        if (sampler != null) {
            sampler.shutdownNow();
        }
    }
}
