package io.portico.server.http3;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * HTTP/3 events on one listener: QUIC connections (accepted and open now), request streams, and
 * streams refused or reset. Written from every event loop, read by whoever reports metrics.
 */
public final class Http3Counters {

    private final LongAdder connections = new LongAdder();
    private final LongAdder active = new LongAdder();
    private final LongAdder streams = new LongAdder();
    private final LongAdder malformed = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder goAways = new LongAdder();
    private final LongAdder idle = new LongAdder();
    private final LongAdder connectionRefused = new LongAdder();
    private final LongAdder headerListTooLarge = new LongAdder();
    private final LongAdder retrySent = new LongAdder();
    private final LongAdder retryTokenInvalid = new LongAdder();
    private final LongAdder handshakeRefused = new LongAdder();
    private final LongAdder handshakeTimeout = new LongAdder();
    /** QUIC handshakes begun and not yet done or failed, over all the listener's sockets. */
    private final AtomicInteger handshakes = new AtomicInteger();

    void connectionOpened() {
        connections.increment();
        active.increment();
    }

    void connectionClosed() {
        active.decrement();
    }

    void streamOpened() {
        streams.increment();
    }

    /** A request that broke RFC 9114 section 4.1.2: its stream was reset with H3_MESSAGE_ERROR. */
    void malformedRequest() {
        malformed.increment();
    }

    /** A QUIC connection over the listener's connection caps: closed with CONNECTION_REFUSED. */
    void connectionRefused() {
        connectionRefused.increment();
    }

    /** A request whose header section was over http2.max_header_list_size: answered 431 on its stream. */
    void headerListTooLarge() {
        headerListTooLarge.increment();
    }

    /** A Retry packet sent to validate a new client's address (RFC 9000 section 8.1.2). */
    void retrySent() {
        retrySent.increment();
    }

    /** An Initial with a token that is not a valid, unexpired Retry token of this process for its sender: dropped. */
    void retryTokenInvalid() {
        retryTokenInvalid.increment();
    }

    /** A new QUIC connection refused (closed before its handshake began) over http3.max_handshakes. */
    void handshakeRefused() {
        handshakeRefused.increment();
    }

    /** A QUIC handshake not done within the listener's tls.handshake_timeout: the connection was closed. */
    void handshakeTimeout() {
        handshakeTimeout.increment();
    }

    /** A handshake begins; with {@link #handshakeEnded()} once it is done or has failed. */
    void handshakeStarted() {
        handshakes.incrementAndGet();
    }

    void handshakeEnded() {
        handshakes.decrementAndGet();
    }

    /** QUIC handshakes in progress on the listener now. */
    public int handshakesInProgress() {
        return handshakes.get();
    }

    /** A stream opened after Portico's GOAWAY: reset with H3_REQUEST_REJECTED. */
    void streamRefused() {
        refused.increment();
    }

    /** A stream stuck on its client for stream_idle_timeout was reset. */
    public void streamIdleTimeout() {
        idle.increment();
    }

    void goAwaySent() {
        goAways.increment();
    }

    /** QUIC connections open now. */
    public long activeConnections() {
        return active.sum();
    }

    /** QUIC connections accepted. */
    public long connections() {
        return connections.sum();
    }

    /** Every counter by event name, for the metrics page. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("connections", connections.sum());
        m.put("streams", streams.sum());
        m.put("malformed_request", malformed.sum());
        m.put("stream_refused", refused.sum());
        m.put("graceful_goaway", goAways.sum());
        m.put("stream_idle_timeout", idle.sum());
        m.put("connection_refused", connectionRefused.sum());
        m.put("header_list_too_large", headerListTooLarge.sum());
        m.put("retry_sent", retrySent.sum());
        m.put("retry_token_invalid", retryTokenInvalid.sum());
        m.put("handshake_refused", handshakeRefused.sum());
        m.put("handshake_timeout", handshakeTimeout.sum());
        return m;
    }
}
