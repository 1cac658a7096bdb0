package io.portico.server.metrics;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.util.ArrayList;
import java.util.List;

/**
 * The dashboard's memory: one {@link Sample} a second for the last {@value #CAPACITY} seconds,
 * taken by the housekeeping thread from the metrics (never from the event loops). The cache hit
 * ratio is read from the registry by name ({@code portico_cache_hits_total} and
 * {@code portico_cache_misses_total}) and is null while no cache registers those counters.
 */
public final class DashboardHistory {

    /** Ten minutes at one sample a second. */
    public static final int CAPACITY = 600;
    private static final double[] QUANTILES = {0.5, 0.9, 0.99, 0.999};

    /**
     * One second of traffic.
     *
     * @param time           epoch milliseconds
     * @param requestsPerSec requests answered per second since the previous sample
     * @param p50            median latency in ms, null when no request ended
     * @param p90            90th percentile latency in ms, or null
     * @param p99            99th percentile latency in ms, or null
     * @param p999           99.9th percentile latency in ms, or null
     * @param connections    client connections open
     * @param webSockets     WebSockets open
     * @param cacheHitRatio  hits / (hits + misses) in that second; null without a cache or lookups
     * @param backendsUp     backends taking traffic
     * @param backendsTotal  backends configured
     */
    public record Sample(long time, double requestsPerSec, Double p50, Double p90, Double p99, Double p999,
                         long connections, long webSockets, Double cacheHitRatio, int backendsUp, int backendsTotal) {
    }

    private final ProxyMetrics metrics;
    private final Sample[] ring = new Sample[CAPACITY];
    private int next;
    private int size;
    private long lastRequests = -1;
    private long lastMillis;
    private double lastHits = Double.NaN;
    private double lastMisses = Double.NaN;
    private volatile BackendHealth health = new BackendHealth(0, 0);

    /** Backends up and configured, as last counted by the caller of {@link #sample}. */
    public record BackendHealth(int up, int total) {
    }

    public DashboardHistory(ProxyMetrics metrics) {
        this.metrics = metrics;
    }

    /** Sets the backend counts the next samples record (the server counts them from the live groups). */
    public void backendHealth(int up, int total) {
        health = new BackendHealth(up, total);
    }

    /** Takes one sample; called once a second. */
    public synchronized void sample(long openConnections) {
        long now = System.currentTimeMillis();
        long requests = metrics.requestsTotal();
        double rate = 0;
        if (lastRequests >= 0 && now > lastMillis) {
            rate = (requests - lastRequests) * 1000.0 / (now - lastMillis);
        }
        lastRequests = requests;
        lastMillis = now;
        double[] q = metrics.allRequests().takeSample(QUANTILES, now);
        BackendHealth h = health;
        add(new Sample(now, rate, ms(q[0]), ms(q[1]), ms(q[2]), ms(q[3]), openConnections, metrics.activeWebSockets(),
                cacheHitRatio(), h.up(), h.total()));
    }

    private Double cacheHitRatio() {
        MetricSnapshots cache = metrics.registry().scrape(n -> n.startsWith("portico_cache_"));
        double hits = counter(cache, "portico_cache_hits");
        double misses = counter(cache, "portico_cache_misses");
        Double ratio = null;
        if (!Double.isNaN(hits) && !Double.isNaN(misses) && !Double.isNaN(lastHits) && !Double.isNaN(lastMisses)) {
            double dh = hits - lastHits;
            double dm = misses - lastMisses;
            if (dh + dm > 0) {
                ratio = dh / (dh + dm);
            }
        }
        lastHits = hits;
        lastMisses = misses;
        return ratio;
    }

    /** The sum of a counter's series, or NaN when nothing registered it. */
    private static double counter(MetricSnapshots snapshots, String name) {
        for (MetricSnapshot s : snapshots) {
            if (s instanceof CounterSnapshot c && (name.equals(s.getMetadata().getName())
                    || (name + "_total").equals(s.getMetadata().getName()))) {
                double sum = 0;
                for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                    sum += p.getValue();
                }
                return sum;
            }
        }
        return Double.NaN;
    }

    private static Double ms(double seconds) {
        return Double.isNaN(seconds) ? null : seconds * 1000;
    }

    private void add(Sample s) {
        ring[next] = s;
        next = (next + 1) % CAPACITY;
        size = Math.min(CAPACITY, size + 1);
    }

    /** The samples, oldest first. */
    public synchronized List<Sample> samples() {
        List<Sample> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            out.add(ring[(next - size + i + CAPACITY) % CAPACITY]);
        }
        return out;
    }
}
