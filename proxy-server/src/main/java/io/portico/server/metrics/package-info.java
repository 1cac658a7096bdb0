/**
 * Portico's metrics: one Prometheus registry per process ({@link io.portico.server.metrics.MetricsRegistry}),
 * exposed by the admin listener at {@code /metrics} in the Prometheus text format, and the
 * dashboard's one-sample-a-second history ({@link io.portico.server.metrics.DashboardHistory}).
 *
 * <h2>Hot path</h2>
 * Counters are {@link java.util.concurrent.atomic.LongAdder}s ({@link io.portico.server.metrics.AdderCounter})
 * and latencies HdrHistogram {@link org.HdrHistogram.SingleWriterRecorder}s, one per event loop
 * ({@link io.portico.server.metrics.LatencyRecorder}): recording takes no lock and allocates
 * nothing. Series are looked up once (per listener, upstream group, route) and kept; the registry
 * lives as long as the process, so a reload never resets a counter. Latency summaries expose
 * p50/p90/p99/p99.9 over the last minute plus {@code _count} and {@code _sum} since start; the
 * recorders are harvested off the event loops, by the scrape and by the dashboard sampler.
 *
 * <h2>Adding a feature's metrics</h2>
 * A feature gets the registry from {@code PorticoServer.registry()} (or
 * {@code PorticoServer.metrics().registry()}) once, at start-up, and keeps what it registers:
 * <pre>{@code
 * MetricsRegistry registry = server.registry();
 * // counters: look the series up once, increment on the hot path
 * AdderCounter hits = registry.counter("portico_cache_hits_total", "Cache hits.", "tier");
 * LongAdder memoryHits = hits.labels("memory");
 * memoryHits.increment();
 * // latency: quantiles from HdrHistogram
 * LatencyRecorder fill = registry.latency("portico_cache_fill_duration_seconds", "Cache fills.", "tier")
 *         .labels("disk");
 * fill.record(nanos);
 * // gauges read at scrape time, from any state the feature already keeps
 * registry.gauge("portico_cache_bytes", "Bytes stored.", new String[] {"tier"},
 *         cb -> cb.call(store.bytes(), "memory"));
 * // or anything built with the Prometheus client's own builders
 * Counter.builder().name("portico_h2_streams_total").help("HTTP/2 streams.").register(registry.prometheus());
 * }</pre>
 * Names start with {@code portico_}, counters end in {@code _total}, times are in seconds and sizes
 * in bytes. The dashboard's cache hit ratio reads {@code portico_cache_hits_total} and
 * {@code portico_cache_misses_total} by name when they exist (any labels, summed), so the cache
 * only has to register those two counters to appear there.
 */
package io.portico.server.metrics;
