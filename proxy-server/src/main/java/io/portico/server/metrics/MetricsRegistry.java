package io.portico.server.metrics;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import java.io.IOException;
import java.io.OutputStream;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * All of a running Portico's metrics: one Prometheus registry that lives as long as the process
 * (reloads keep it, so counters never go back), with helpers for the kinds Portico uses. See the
 * package documentation for how a feature adds its own.
 */
public final class MetricsRegistry {

    /** The content type of {@link #writeText}. */
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.builder().build();

    /** The underlying registry, for metrics built with the Prometheus client's own builders. */
    public PrometheusRegistry prometheus() {
        return registry;
    }

    /** A new counter of {@link java.util.concurrent.atomic.LongAdder}s, registered. */
    public AdderCounter counter(String name, String help, String... labelNames) {
        AdderCounter c = new AdderCounter(name, help, labelNames);
        registry.register(c);
        return c;
    }

    /** A new latency summary (HdrHistogram quantiles over the last minute), registered. */
    public LatencySummary latency(String name, String help, String... labelNames) {
        LatencySummary s = new LatencySummary(name, help, labelNames);
        registry.register(s);
        return s;
    }

    /** A gauge read at scrape time: {@code callback} reports each series' value and label values. */
    public void gauge(String name, String help, String[] labelNames, Consumer<GaugeWithCallback.Callback> callback) {
        GaugeWithCallback.builder().name(name).help(help).labelNames(labelNames).callback(callback).register(registry);
    }

    /** A counter read at scrape time from values kept elsewhere. */
    public void counterCallback(String name, String help, String[] labelNames,
                                Consumer<CounterWithCallback.Callback> callback) {
        CounterWithCallback.builder().name(name).help(help).labelNames(labelNames).callback(callback).register(registry);
    }

    /** Every metric now. */
    public MetricSnapshots scrape() {
        return registry.scrape();
    }

    /** The metrics whose names {@code names} accepts, e.g. one feature's, now. */
    public MetricSnapshots scrape(Predicate<String> names) {
        return registry.scrape(names);
    }

    /** Writes every metric in the Prometheus text format (version 0.0.4). */
    public void writeText(OutputStream out) throws IOException {
        writer.write(out, registry.scrape(), io.prometheus.metrics.config.EscapingScheme.UNDERSCORE_ESCAPING);
    }
}
