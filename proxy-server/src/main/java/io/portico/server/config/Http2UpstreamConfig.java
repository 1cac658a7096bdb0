package io.portico.server.config;

import java.time.Duration;

/**
 * Multiplexed HTTP/2 connections to the backends of an upstream group with {@code protocol: h2} or
 * {@code h2c}. Everything is per backend per event loop, like the HTTP/1.1 pool.
 *
 * @param maxConnections        connections per backend per event loop; another opens only when all are full
 * @param maxConcurrentStreams  streams per connection; the backend's SETTINGS_MAX_CONCURRENT_STREAMS lowers it
 * @param initialWindowSize     receive window per stream: what a backend may send ahead of the client reading
 * @param maxPending            requests waiting for a busy stream per backend per event loop (besides those a
 *                              connection being opened will take); beyond it, 503 at once
 * @param pingInterval          PING a connection this often to detect a dead backend; 0 turns it off
 * @param pingTimeout           a PING unanswered this long closes the connection
 */
public record Http2UpstreamConfig(
        @Default("4") int maxConnections,
        @Default("100") int maxConcurrentStreams,
        @Default("1m") ByteSize initialWindowSize,
        @Default("256") int maxPending,
        @Default("0s") Duration pingInterval,
        @Default("10s") Duration pingTimeout) {

    /** The largest flow-control window HTTP/2 allows (RFC 9113 section 6.9.1). */
    public static final long MAX_WINDOW = (1L << 31) - 1;

    public Http2UpstreamConfig {
        if (maxConnections < 1) {
            throw new InvalidConfigException("max_connections", "must be 1 or more");
        }
        if (maxConcurrentStreams < 1) {
            throw new InvalidConfigException("max_concurrent_streams", "must be 1 or more");
        }
        if (initialWindowSize.bytes() < 65_535 || initialWindowSize.bytes() > MAX_WINDOW) {
            throw new InvalidConfigException("initial_window_size", "must be between 65535 and 2147483647 bytes");
        }
        if (maxPending < 0) {
            throw new InvalidConfigException("max_pending", "cannot be negative (0 answers 503 when every stream is busy)");
        }
        if (pingInterval.isNegative()) {
            throw new InvalidConfigException("ping_interval", "cannot be negative (0 turns pings off)");
        }
        if (pingTimeout.isZero() || pingTimeout.isNegative()) {
            throw new InvalidConfigException("ping_timeout", "must be positive");
        }
    }
}
