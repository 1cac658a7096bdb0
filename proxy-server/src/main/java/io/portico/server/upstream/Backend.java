package io.portico.server.upstream;

import io.portico.server.config.BackendConfig;
import io.portico.server.config.HostPort;
import io.portico.server.upstream.balance.Member;
import io.portico.server.upstream.health.BackendHealth;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One member of an upstream group, shared by every event loop. Its counters are atomics because
 * loops read each other's load; nothing here is locked.
 *
 * <p>Passive health follows nginx's {@code max_fails}/{@code fail_timeout}: {@code maxFails}
 * failures within {@code failTimeout} take the backend out for {@code failTimeout}. As in nginx, a
 * group with a single non-backup member never takes it out. Active checks and outlier detection live
 * in {@link #health()}; each event loop keeps its own copy of whether they have the backend out
 * ({@link GroupLoop#inRotation(Backend)}).
 */
public final class Backend implements Member {

    private final int index;
    private final BackendConfig config;
    private final String key;
    private final InetSocketAddress connectAddress;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger openConnections = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final int maxFails;
    private final long failTimeoutNanos;
    private volatile long failWindowStart;
    private volatile long downUntil;
    private volatile boolean down;
    private BackendHealth health;

    private final String serverName;

    /** @param serverName the name the backend was configured by, for SNI and the health check's Host */
    Backend(int index, BackendConfig config, int maxFails, long failTimeoutNanos, String serverName) {
        this.index = index;
        this.serverName = serverName;
        this.config = config;
        this.key = config.address().toString();
        this.connectAddress = connectAddress(config.address());
        this.maxFails = maxFails;
        this.failTimeoutNanos = failTimeoutNanos;
    }

    /** Literal IPs are resolved now; names stay unresolved so each connect goes through the DNS cache (TTL-aware). */
    private static InetSocketAddress connectAddress(HostPort hp) {
        String host = hp.host();
        boolean literal = host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
        return literal ? new InetSocketAddress(host, hp.port()) : InetSocketAddress.createUnresolved(host, hp.port());
    }

    /** Set once by the group, before any loop sees the backend. */
    void health(BackendHealth health) {
        this.health = health;
    }

    /**
     * Takes over the passive and active health of {@code from}, the same address in the member set
     * this one replaces or in the config a reload replaces (see {@link BackendHealth#inherit}); before
     * any loop sees this backend.
     *
     * @param checks whether this backend's group runs active checks
     */
    void inherit(Backend from, boolean checks) {
        if (maxFails > 0 && from.down) {
            failWindowStart = from.failWindowStart;
            failures.set(from.failures.get());
            downUntil = from.downUntil;
            down = true;
        }
        health.inherit(from.health, checks);
    }

    /** Active check results and outlier ejection. */
    public BackendHealth health() {
        return health;
    }

    /** The host name it was configured by (for a member found through DNS, the name, not the address). */
    public String serverName() {
        return serverName;
    }

    /** Host header for requests Portico makes itself (health checks): the configured name and port. */
    public String hostHeader() {
        return new HostPort(serverName, config.address().port()).toString();
    }

    public int index() {
        return index;
    }

    public BackendConfig config() {
        return config;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public int weight() {
        return config.weight();
    }

    @Override
    public int inFlight() {
        return inFlight.get();
    }

    public boolean backup() {
        return config.backup();
    }

    public InetSocketAddress connectAddress() {
        return connectAddress;
    }

    public int openConnections() {
        return openConnections.get();
    }

    /** True when max_connections would be passed by one more connection. */
    public boolean atConnectionLimit() {
        int max = config.maxConnections();
        return max > 0 && openConnections.get() >= max;
    }

    void connectionOpened() {
        openConnections.incrementAndGet();
    }

    void connectionClosed() {
        openConnections.decrementAndGet();
    }

    public void requestStarted() {
        inFlight.incrementAndGet();
    }

    public void requestEnded() {
        inFlight.decrementAndGet();
    }

    /**
     * Whether it takes traffic as far as its health goes: {@code max_fails} has not taken it out,
     * its active checks pass and it is not ejected. For status snapshots (admin, metrics, dashboard).
     */
    public boolean healthy(long nowNanos) {
        return !isDown(nowNanos) && health.available();
    }

    /** {@link #isDown(long)} now; the clock is read only when max_fails has marked it down. */
    public boolean isDown() {
        return down && isDown(System.nanoTime());
    }

    /** Whether passive health has taken this backend out right now. */
    public boolean isDown(long nowNanos) {
        if (!down) {
            return false;
        }
        if (nowNanos - downUntil >= 0) {
            down = false;
            failures.set(0);
            return false;
        }
        return true;
    }

    /** Whether max_fails has it out now, without ending an expired window (for status snapshots). */
    boolean isDownNoReset(long nowNanos) {
        return down && nowNanos - downUntil < 0;
    }

    /** Records a failure that counts for max_fails (connect error, timeout, garbage). */
    public void recordFailure(long nowNanos) {
        if (maxFails == 0) {
            return;
        }
        if (nowNanos - failWindowStart > failTimeoutNanos) {
            failWindowStart = nowNanos;
            failures.set(0);
        }
        if (failures.incrementAndGet() >= maxFails) {
            downUntil = nowNanos + failTimeoutNanos;
            down = true;
        }
    }

    /**
     * A connection to it could not be opened: counts for max_fails and, as a connect failure in a row,
     * for outlier detection.
     */
    public void recordConnectFailure(long nowNanos, String what) {
        recordFailure(nowNanos);
        health.onConnectFailure(nowNanos, what);
    }

    /** A connection to it opened where no response head will tell (a tcp relay): a success for both. */
    public void recordConnected() {
        recordSuccess();
        health.onConnected();
    }

    /** A response head arrived: a success for max_fails, and a 5xx or not for outlier detection. */
    public void recordResponse(int status) {
        recordSuccess();
        health.onResponse(status);
    }

    /** A success ends a run of failures. */
    public void recordSuccess() {
        if (failures.get() != 0) {
            failures.set(0);
        }
    }

    @Override
    public String toString() {
        return key;
    }
}
