package io.portico.server.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.Quantile;
import io.prometheus.metrics.model.snapshots.Quantiles;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Prometheus summary whose series are {@link LatencyRecorder}s: exposed as
 * {@code name{...,quantile="0.5|0.9|0.99|0.999"}} over the last minute, plus {@code _count} and
 * {@code _sum} (seconds) since start. Look a series up once with {@link #labels} and keep it: the
 * look-up allocates, recording does not.
 */
public final class LatencySummary implements Collector {

    /** The quantiles every latency summary exposes. */
    public static final double[] QUANTILES = {0.5, 0.9, 0.99, 0.999};

    private final String name;
    private final String help;
    private final String[] labelNames;
    private final Map<List<String>, LatencyRecorder> series = new ConcurrentHashMap<>();

    LatencySummary(String name, String help, String... labelNames) {
        this.name = name;
        this.help = help;
        this.labelNames = labelNames.clone();
    }

    /** The series for these label values (in the order of the label names), created on first use. */
    public LatencyRecorder labels(String... values) {
        if (values.length != labelNames.length) {
            throw new IllegalArgumentException(name + " takes " + labelNames.length + " label values");
        }
        return series.computeIfAbsent(List.of(values), v -> new LatencyRecorder());
    }

    /** Forgets the series with these label values (a listener or group that never ran). */
    public void remove(String... values) {
        series.remove(List.of(values));
    }

    /** Every series with its label values. */
    public Map<List<String>, LatencyRecorder> series() {
        return Map.copyOf(series);
    }

    @Override
    public String getPrometheusName() {
        return name;
    }

    @Override
    public MetricSnapshot collect() {
        long now = System.currentTimeMillis();
        SummarySnapshot.Builder b = SummarySnapshot.builder().name(name).help(help);
        series.forEach((values, recorder) -> {
            double[] q = recorder.windowQuantiles(QUANTILES, now);
            List<Quantile> quantiles = new ArrayList<>(QUANTILES.length);
            for (int i = 0; i < QUANTILES.length; i++) {
                quantiles.add(new Quantile(QUANTILES[i], q[i]));
            }
            b.dataPoint(SummarySnapshot.SummaryDataPointSnapshot.builder()
                    .labels(Labels.of(labelNames, values.toArray(String[]::new)))
                    .quantiles(Quantiles.of(quantiles))
                    .count(recorder.count())
                    .sum(recorder.sumSeconds())
                    .build());
        });
        return b.build();
    }
}
