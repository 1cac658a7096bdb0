package io.portico.server.upstream;

import io.portico.server.config.BackendConfig;
import io.portico.server.config.HostPort;
import io.portico.server.upstream.balance.Member;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One member of an upstream group, shared by every event loop. Its counters are atomics because
 * loops read each other's load; nothing here is locked.
 *
 * <p>Passive health follows nginx's {@code max_fails}/{@code fail_timeout}: {@code maxFails}
 * failures within {@code failTimeout} take the backend out for {@code failTimeout}. As in nginx, a
 * group with a single non-backup member never takes it out.
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

    Backend(int index, BackendConfig config, int maxFails, long failTimeoutNanos) {
        this.index = index;
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
