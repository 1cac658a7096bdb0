package io.portico.server.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * One upstream group's metrics, looked up once per group; a group rebuilt by a reload gets the
 * same object back, so its counters go on. Lock-free and allocation-free.
 */
public final class UpstreamMetrics {

    private final LatencyRecorder responseTime;
    private final LatencyRecorder connectTime;
    private final LongAdder requests;
    private final LongAdder reused;
    private final LongAdder connectFailures;

    UpstreamMetrics(String group, ProxyMetrics m) {
        this.responseTime = m.upstreamTime.labels(group);
        this.connectTime = m.connectTime.labels(group);
        this.requests = m.upstreamRequests.labels(group);
        this.reused = m.upstreamReused.labels(group);
        this.connectFailures = m.connectFailures.labels(group);
    }

    /** A request went out to a backend, on a pooled connection or on a new one. */
    public void requestSent(boolean reusedConnection) {
        requests.increment();
        if (reusedConnection) {
            reused.increment();
        }
    }

    /** Time from the request's first byte sent to the response's last byte received. */
    public void responseTime(long nanos) {
        responseTime.record(nanos);
    }

    /** A new connection's set-up time (TCP, and TLS where used). */
    public void connected(long nanos) {
        connectTime.record(nanos);
    }

    public void connectFailed() {
        connectFailures.increment();
    }

    /** Requests sent on pooled connections / all requests sent; NaN before the first. */
    public double reuseRatio() {
        long all = requests.sum();
        return all == 0 ? Double.NaN : (double) reused.sum() / all;
    }
}
