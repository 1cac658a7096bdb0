package io.portico.server.http1;

/**
 * The {@code min_body_rate} clock of one request body (Apache mod_reqtimeout's MinRate): after a
 * grace of one {@code body_timeout} from the head, the body must have earned a second per
 * {@code min_body_rate} bytes received; time Portico itself does not ask for bytes (it holds the
 * client back for a slow upstream) does not count against it. Kept by {@link ClientDeadlines} for
 * an HTTP/1.1 connection and by {@link StreamDeadlines} for each HTTP/2 or HTTP/3 request stream,
 * each only while min_body_rate is set; both answer 408 with the reason {@link #REASON} when
 * {@link #deadline()} passes while they are asking for bytes. Not thread-safe: one event loop.
 */
public final class BodyRate {

    /** The access log's reason for a body below the rate. */
    public static final String REASON = "client_body_too_slow";

    private final long minRate;
    private final long graceNanos;
    private long start;
    private long paused;
    private long pausedSince;
    private long bytes;

    /**
     * @param minRate    bytes per second (min_body_rate), more than 0
     * @param graceNanos the grace before the rate applies (body_timeout)
     */
    public BodyRate(long minRate, long graceNanos) {
        if (minRate <= 0) {
            throw new IllegalArgumentException("min_body_rate is off: no clock to keep");
        }
        this.minRate = minRate;
        this.graceNanos = graceNanos;
    }

    /** A request head came in at {@code now}: its body's clock starts, paused until bytes are asked for. */
    public void start(long now) {
        start = now;
        paused = 0;
        pausedSince = now;
        bytes = 0;
    }

    /** Body bytes came in. */
    public void received(long n) {
        bytes += n;
    }

    /** Portico is not asking for bytes from {@code now} on (what came is being passed on). */
    public void pause(long now) {
        pausedSince = now;
    }

    /** Portico asks for bytes again: the time since {@link #pause} is not the client's. */
    public void resume(long now) {
        if (pausedSince != 0) {
            paused += now - pausedSince;
            pausedSince = 0;
        }
    }

    /** When the body falls below the rate: one grace period, plus a second per rate's worth of bytes. */
    public long deadline() {
        long earned = bytes >= Long.MAX_VALUE / 1_000_000_000L ? Long.MAX_VALUE / 4
                : bytes * 1_000_000_000L / minRate;
        return start + paused + graceNanos + earned;
    }

    /** Whether the body is below the rate at {@code now}. */
    public boolean tooSlow(long now) {
        return now - deadline() >= 0;
    }

    /** The earlier of {@code other} and {@link #deadline()}. */
    public long earlier(long other) {
        long rate = deadline();
        return rate - other < 0 ? rate : other;
    }
}
