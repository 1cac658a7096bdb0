package io.portico.server.config;

/**
 * When an HTTP/3 listener validates a new client's address with a Retry round trip (RFC 9000
 * section 8.1.2) before it starts a handshake for it.
 */
public enum Http3Retry {
    /**
     * Once the listener has {@code retry_threshold} handshakes in progress (HAProxy's
     * {@code tune.quic.retry-threshold}): a flood of Initials from spoofed addresses costs a
     * stateless Retry each, while an ordinary day costs no extra round trip.
     */
    AUTO,
    /** Every new connection (nginx's {@code quic_retry on}). */
    ALWAYS,
    /** Never (nginx's default, {@code quic_retry off}); {@code max_handshakes} still caps handshakes in progress. */
    NEVER
}
