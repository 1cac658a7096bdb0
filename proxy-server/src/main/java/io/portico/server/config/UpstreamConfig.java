package io.portico.server.config;

import java.time.Duration;
import java.util.List;

/**
 * An upstream group: the backends one route sends to, how to pick among them, how to pool
 * connections to them, and when to give up or try another.
 *
 * @param backends               the members
 * @param balance                round_robin (smooth weighted), least_conn, p2c or consistent_hash
 * @param hash                   key and ring size for consistent_hash
 * @param pool                   keep-alive connection pool, per backend per event loop
 * @param connectTimeout         TCP connect (HAProxy's {@code timeout connect} 5s)
 * @param responseHeaderTimeout  from request sent to response head received; then 504
 * @param readTimeout            longest silence between two reads of the response; then 504 or abort
 * @param sendTimeout            longest the backend may leave the request's bytes unread (its connection
 *                               not writable); then 504 and both connections close (nginx proxy_send_timeout)
 * @param totalTimeout           the whole exchange, 0 for none
 * @param retry                  which failures try the next backend
 * @param maxFails               failures within {@code failTimeout} that take a backend out (nginx max_fails)
 * @param failTimeout            the window for maxFails and how long the backend stays out (nginx fail_timeout)
 * @param healthCheck            active checks of the members
 * @param outlier                passive outlier detection: ejection after failures in a row, with growing backoff
 * @param slowStart              a member back in rotation ramps its weight from near 0 up over this time; 0s for none
 * @param socket                 socket options for upstream connections
 * @param tls                    TLS to the backends (HTTPS upstreams)
 * @param proxyProtocol          PROXY protocol header sent first on each backend connection: off, v1 or v2
 * @param protocol               http1, h2 (HTTP/2 over TLS with ALPN) or h2c (HTTP/2 with prior knowledge)
 * @param http2                  the multiplexed connections of h2 and h2c
 */
public record UpstreamConfig(
        List<BackendConfig> backends,
        @Default("round_robin") BalanceAlgorithm balance,
        HashConfig hash,
        PoolConfig pool,
        @Default("5s") Duration connectTimeout,
        @Default("60s") Duration responseHeaderTimeout,
        @Default("60s") Duration readTimeout,
        @Default("60s") Duration sendTimeout,
        @Default("0s") Duration totalTimeout,
        RetryConfig retry,
        @Default("1") int maxFails,
        @Default("10s") Duration failTimeout,
        HealthCheckConfig healthCheck,
        OutlierConfig outlier,
        @Default("0s") Duration slowStart,
        UpstreamSocketConfig socket,
        UpstreamTlsConfig tls,
        @Default("off") ProxyProtocolVersion proxyProtocol,
        @Default("http1") UpstreamProtocol protocol,
        Http2UpstreamConfig http2) {

    public UpstreamConfig {
        backends = List.copyOf(backends);
        if (backends.isEmpty()) {
            throw new InvalidConfigException("backends", "an upstream group needs at least one backend");
        }
        if (backends.stream().allMatch(BackendConfig::backup)) {
            throw new InvalidConfigException("backends", "every backend is a backup; at least one must not be");
        }
        if (sendTimeout.isZero() || sendTimeout.isNegative()) {
            throw new InvalidConfigException("send_timeout", "must be positive, got " + sendTimeout);
        }
        if (connectTimeout.isZero() || connectTimeout.isNegative()) {
            throw new InvalidConfigException("connect_timeout", "must be positive");
        }
        if (responseHeaderTimeout.isZero() || responseHeaderTimeout.isNegative()) {
            throw new InvalidConfigException("response_header_timeout", "must be positive");
        }
        if (readTimeout.isZero() || readTimeout.isNegative()) {
            throw new InvalidConfigException("read_timeout", "must be positive");
        }
        if (totalTimeout.isNegative()) {
            throw new InvalidConfigException("total_timeout", "cannot be negative (0 turns it off)");
        }
        if (proxyProtocol != ProxyProtocolVersion.OFF && tls.enabled()) {
            throw new InvalidConfigException("proxy_protocol",
                    "cannot be sent to TLS backends (the header would have to precede the handshake); turn one off");
        }
        if (protocol == UpstreamProtocol.H2 && !tls.enabled()) {
            throw new InvalidConfigException("protocol", "h2 is HTTP/2 over TLS: set tls.enabled: true, or use h2c");
        }
        if (protocol == UpstreamProtocol.H2C && tls.enabled()) {
            throw new InvalidConfigException("protocol", "h2c is cleartext HTTP/2: use h2 with tls.enabled: true");
        }
        if (maxFails < 0) {
            throw new InvalidConfigException("max_fails", "cannot be negative (0 turns passive checks off)");
        }
        if (slowStart.isNegative()) {
            throw new InvalidConfigException("slow_start", "cannot be negative (0s turns it off)");
        }
        if (!slowStart.isZero() && balance == BalanceAlgorithm.CONSISTENT_HASH) {
            // As nginx: a hashed key has one home, so there is no share of traffic to ramp.
            throw new InvalidConfigException("slow_start", "does not apply to balance: consistent_hash");
        }
    }
}
