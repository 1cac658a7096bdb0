package io.portico.server.log;

import io.netty.util.internal.PlatformDependent;
import io.portico.server.config.AccessLogConfig;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZoneId;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The access log. Event loops {@link #log} records into a bounded lock-free queue and never wait:
 * when the queue is full the record is dropped and counted. One daemon thread,
 * {@value #THREAD_NAME}, formats the records and writes them in batches, flushing whenever the
 * queue runs dry.
 */
public final class AccessLog implements AutoCloseable {

    /** The path that sends the log to standard output. */
    public static final String STDOUT = "stdout";
    static final String THREAD_NAME = "portico-access-log";

    /** How long the writer sleeps when there is nothing to write; bounds a line's delay. */
    private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    private static final int BATCH_BYTES = 64 * 1024;
    /** How long close() waits for the writer, so a hung disk cannot hang shutdown. */
    private static final long CLOSE_TIMEOUT_MILLIS = 10_000;

    private static final AccessLog DISABLED = new AccessLog();

    private final Queue<AccessLogRecord> queue;
    private final OutputStream out;
    private final boolean ownsOut;
    private final LineFormat formatter;
    private final Thread writer;

    private final LongAdder dropped;
    private final AtomicLong flushRequests = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Written by the writer thread only. */
    private volatile long written;
    /** The last flush request the writer has completed. */
    private volatile long flushed;
    private volatile boolean closing;
    /** Set by {@link #reopen()}; the writer reopens the file before its next write. */
    private volatile boolean reopen;
    private boolean failing;

    private AccessLog() {
        queue = null;
        out = null;
        ownsOut = false;
        formatter = null;
        writer = null;
        dropped = new LongAdder();
    }

    /**
     * Writes to {@code out} from a new writer thread.
     *
     * @param capacity records the queue holds before it drops
     * @param zone     the zone {@code $time_local} is printed in
     * @param ownsOut  whether {@link #close()} closes {@code out}, or only flushes it
     */
    AccessLog(OutputStream out, int capacity, ZoneId zone, boolean ownsOut) {
        this(out, capacity, AccessLogFormats.create("combined", zone), ownsOut, new LongAdder());
    }

    private AccessLog(OutputStream out, int capacity, LineFormat format, boolean ownsOut, LongAdder dropped) {
        this.queue = PlatformDependent.newFixedMpscQueue(capacity);
        this.dropped = dropped;
        this.out = out;
        this.ownsOut = ownsOut;
        this.formatter = format;
        this.writer = new Thread(this::run, THREAD_NAME);
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * Opens the log the config describes: a file (created with its parent directories, appended
     * to, rotated as configured), standard output for {@value #STDOUT}, or a log that does nothing
     * when disabled. Times are printed, and days counted, in the system time zone.
     */
    public static AccessLog open(AccessLogConfig config) throws IOException {
        return open(config, new LongAdder());
    }

    /**
     * As {@link #open(AccessLogConfig)}, counting what it drops in {@code dropped}, which may be
     * shared: a reload's new log goes on counting where the one it replaces left off.
     */
    public static AccessLog open(AccessLogConfig config, LongAdder dropped) throws IOException {
        if (!config.enabled()) {
            return DISABLED;
        }
        ZoneId zone = ZoneId.systemDefault();
        LineFormat format = AccessLogFormats.create(config.format(), zone);
        if (STDOUT.equals(config.path())) {
            return new AccessLog(System.out, config.buffer(), format, false, dropped);
        }
        Path path = Path.of(config.path()).toAbsolutePath();
        Files.createDirectories(path.getParent());
        OutputStream file = new RotatingFile(path, config.rotation().maxSize().bytes(), config.rotation().daily(),
                config.rotation().keep(), zone);
        return new AccessLog(file, config.buffer(), format, true, dropped);
    }

    /**
     * Hands a record to the writer thread; the caller must not touch it afterwards. Never
     * blocks and never throws: when the queue is full, or the log is closed, the record is
     * dropped and counted.
     */
    public void log(AccessLogRecord r) {
        if (queue == null) {
            return;
        }
        if (closing || !queue.offer(r)) {
            dropped.increment();
        }
    }

    /** False for the log of {@code enabled: false}; callers may skip gathering its fields. */
    public boolean enabled() {
        return queue != null;
    }

    /** Lines handed to the output so far. */
    public long written() {
        return written;
    }

    /**
     * Records dropped so far because the queue was full, the log closed, or a write failed (by
     * every log sharing this one's count, see {@link #open(AccessLogConfig, LongAdder)}).
     */
    public long dropped() {
        return dropped.sum();
    }

    /**
     * Waits until everything logged before the call is written and flushed. For shutdown and
     * tests; never call it from an event loop.
     */
    public void flush() {
        if (writer == null) {
            return;
        }
        long request = flushRequests.incrementAndGet();
        LockSupport.unpark(writer);
        while (flushed < request && writer.isAlive()) {
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
    }

    /**
     * Writes what is queued, flushes, stops the writer thread and closes the file (standard
     * output is only flushed). Records logged afterwards are dropped. Call it once the event
     * loops have stopped: a record whose hand-over races with close may stay unwritten.
     */
    @Override
    public void close() {
        if (writer == null || !closed.compareAndSet(false, true)) {
            return;
        }
        closing = true;
        LockSupport.unpark(writer);
        awaitWriter();
        try {
            if (ownsOut) {
                out.close();
            } else {
                out.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the access log", e);
        }
    }

    private void awaitWriter() {
        boolean interrupted = false;
        long deadline = System.currentTimeMillis() + CLOSE_TIMEOUT_MILLIS;
        try {
            long left;
            while (writer.isAlive() && (left = deadline - System.currentTimeMillis()) > 0) {
                try {
                    writer.join(left);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        LineBuffer batch = new LineBuffer(BATCH_BYTES + 4096);
        int batchLines = 0;
        boolean dirty = false;
        while (true) {
            // Read before draining: whatever was logged before these were set is in the queue now.
            long flushRequest = flushRequests.get();
            boolean stopping = closing;
            if (reopen) {
                reopen = false;
                reopenFile();
            }
            AccessLogRecord r;
            while ((r = queue.poll()) != null) {
                int lineStart = batch.length();
                try {
                    formatter.format(r, batch);
                    batchLines++;
                } catch (RuntimeException e) {
                    batch.truncate(lineStart);
                    dropped.increment();
                }
                if (batch.length() >= BATCH_BYTES) {
                    dirty |= write(batch, batchLines);
                    batchLines = 0;
                }
            }
            if (batchLines > 0) {
                dirty |= write(batch, batchLines);
                batchLines = 0;
            }
            if (dirty) {
                flushOut();
                dirty = false;
            }
            flushed = flushRequest;
            if (stopping) {
                return;
            }
            LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
    }

    /**
     * Has the writer close and reopen the file before its next write, so a file moved away by an
     * external rotation (logrotate) is replaced by a new one, as nginx does on USR1. A reload does this.
     */
    public void reopen() {
        if (writer != null) {
            reopen = true;
            LockSupport.unpark(writer);
        }
    }

    private void reopenFile() {
        if (out instanceof RotatingFile f) {
            try {
                f.reopen();
                recovered();
            } catch (IOException e) {
                failed(e);
            }
        }
    }

    /** Writes and empties the batch; lines that cannot be written are counted as dropped. */
    private boolean write(LineBuffer batch, int lines) {
        try {
            out.write(batch.array(), 0, batch.length());
            written += lines;
            recovered();
            return true;
        } catch (IOException e) {
            dropped.add(lines);
            failed(e);
            return false;
        } finally {
            batch.truncate(0);
        }
    }

    private void flushOut() {
        try {
            out.flush();
        } catch (IOException e) {
            failed(e);
        }
    }

    // No logging framework here, and the access log cannot report on itself: standard error it is, once per outage.
    private void failed(IOException e) {
        if (!failing) {
            failing = true;
            System.err.println("portico: access log write failed, dropping lines: " + e);
        }
    }

    private void recovered() {
        if (failing) {
            failing = false;
            System.err.println("portico: access log writes again");
        }
    }
}
