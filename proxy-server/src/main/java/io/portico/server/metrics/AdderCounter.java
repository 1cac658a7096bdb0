package io.portico.server.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A labelled Prometheus counter whose series are plain {@link LongAdder}s: incrementing one is a
 * striped add with no lock, no allocation and nothing else behind it. Look a series up once with
 * {@link #labels} and keep the adder.
 */
public final class AdderCounter implements Collector {

    private final String name;
    private final String help;
    private final String[] labelNames;
    private final Map<List<String>, LongAdder> series = new ConcurrentHashMap<>();

    AdderCounter(String name, String help, String... labelNames) {
        if (name.endsWith("_total")) {
            // The exposition writer appends _total itself.
            name = name.substring(0, name.length() - "_total".length());
        }
        this.name = name;
        this.help = help;
        this.labelNames = labelNames.clone();
    }

    /** The adder of the series with these label values, created on first use. */
    public LongAdder labels(String... values) {
        if (values.length != labelNames.length) {
            throw new IllegalArgumentException(name + " takes " + labelNames.length + " label values");
        }
        return series.computeIfAbsent(List.of(values), v -> new LongAdder());
    }

    /** Forgets the series with these label values (a listener or group that never ran). */
    public void remove(String... values) {
        series.remove(List.of(values));
    }

    /** The sum over every series. */
    public long total() {
        long n = 0;
        for (LongAdder a : series.values()) {
            n += a.sum();
        }
        return n;
    }

    @Override
    public String getPrometheusName() {
        return name;
    }

    @Override
    public MetricSnapshot collect() {
        CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(help);
        series.forEach((values, adder) -> b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                .labels(Labels.of(labelNames, values.toArray(String[]::new)))
                .value(adder.sum())
                .build()));
        return b.build();
    }
}
