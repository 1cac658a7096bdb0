package io.portico.server.config;

import java.time.Duration;

/**
 * HTTP/3 over QUIC on a TLS listener: the same port over UDP, with the listener's certificates,
 * advertised on the TCP side with {@code Alt-Svc} (as nginx's {@code listen 443 quic} plus the
 * {@code add_header Alt-Svc} every nginx user writes by hand). Off by default, as in nginx.
 *
 * @param enabled               serve HTTP/3 on UDP at the listener's port (needs {@code tls})
 * @param maxStreams            request streams a client may have open at once (nginx
 *                              http3_max_concurrent_streams 128)
 * @param idleTimeout           a QUIC connection with no packets for this long is closed (nginx
 *                              quic idle timeout 60s)
 * @param initialMaxData        receive window of a whole connection
 * @param initialMaxStreamData  receive window of one request stream: request body bytes a client
 *                              may send ahead of the upstream taking them
 * @param altSvcMaxAge          {@code ma} of the {@code Alt-Svc} header on the TCP side's answers;
 *                              0 leaves the header out
 * @param streamIdleTimeout     a request stream that moves no byte for this long while it waits on
 *                              the client (a stalled upload, a client that stopped reading) is reset
 * @param gso                   send a connection's ready packets as one UDP GSO send (epoll and
 *                              io_uring, where the kernel has UDP_SEGMENT); turned off by itself at
 *                              the first send the kernel refuses (no checksum offload, IPsec)
 * @param retry                 when a new client's address is validated with a Retry round trip
 *                              (a token only this process can make, for that address, valid 10 s)
 *                              before its handshake starts: {@code auto} once {@code retry_threshold}
 *                              handshakes are in progress, {@code always}, or {@code never}
 * @param retryThreshold        handshakes in progress on the listener from which {@code auto} sends
 *                              Retry (HAProxy tune.quic.retry-threshold 100)
 * @param maxHandshakes         handshakes in progress the listener allows; a new connection over it
 *                              is dropped before its handshake begins (its client tries again or
 *                              falls back to TCP), counted as {@code handshake_refused}
 */
public record Http3ListenerConfig(
        @Default("false") boolean enabled,
        @Default("128") int maxStreams,
        @Default("60s") Duration idleTimeout,
        @Default("8m") ByteSize initialMaxData,
        @Default("256k") ByteSize initialMaxStreamData,
        @Default("86400") long altSvcMaxAge,
        @Default("60s") Duration streamIdleTimeout,
        @Default("true") boolean gso,
        @Default("auto") Http3Retry retry,
        @Default("100") int retryThreshold,
        @Default("1000") int maxHandshakes) {

    public Http3ListenerConfig {
        if (maxStreams < 1) {
            throw new InvalidConfigException("max_streams", "must be at least 1");
        }
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new InvalidConfigException("idle_timeout", "must be positive");
        }
        if (initialMaxStreamData.bytes() < 1024) {
            throw new InvalidConfigException("initial_max_stream_data", "must be at least 1k");
        }
        if (initialMaxData.bytes() < initialMaxStreamData.bytes()) {
            throw new InvalidConfigException("initial_max_data", "must be at least initial_max_stream_data ("
                    + initialMaxStreamData.bytes() + " bytes)");
        }
        if (streamIdleTimeout.isNegative() || streamIdleTimeout.isZero()) {
            throw new InvalidConfigException("stream_idle_timeout", "must be positive");
        }
        if (altSvcMaxAge < 0) {
            throw new InvalidConfigException("alt_svc_max_age", "cannot be negative");
        }
        if (maxHandshakes < 1) {
            throw new InvalidConfigException("max_handshakes", "must be at least 1");
        }
        if (retryThreshold < 0) {
            throw new InvalidConfigException("retry_threshold", "cannot be negative");
        }
        if (retry == Http3Retry.AUTO && retryThreshold >= maxHandshakes) {
            throw new InvalidConfigException("retry_threshold", "must be below max_handshakes (" + maxHandshakes
                    + "), or Retry never starts before handshakes are refused");
        }
    }

    /**
     * Whether {@code other} asks for the same UDP side: the settings its sockets and QUIC codec are
     * built with. The rest ({@code alt_svc_max_age}, {@code stream_idle_timeout}) are read from the
     * config of the moment, so a reload that changes only them keeps the sockets and the QUIC
     * connections on them (a restart would cut their streams in flight). The address validation
     * and handshake cap ({@code retry}, {@code retry_threshold}, {@code max_handshakes}) are read
     * for every new connection, so they too apply without a restart.
     */
    public boolean sameTransport(Http3ListenerConfig other) {
        return enabled == other.enabled && maxStreams == other.maxStreams && idleTimeout.equals(other.idleTimeout)
                && initialMaxData.equals(other.initialMaxData) && initialMaxStreamData.equals(other.initialMaxStreamData)
                && gso == other.gso;
    }

    /** Every default, as a listener without an {@code http3} section gets. */
    public static Http3ListenerConfig defaults() {
        return new Http3ListenerConfig(false, 128, Duration.ofSeconds(60), ByteSize.parse("8m"),
                ByteSize.parse("256k"), 86400, Duration.ofSeconds(60), true, Http3Retry.AUTO, 100, 1000);
    }
}
