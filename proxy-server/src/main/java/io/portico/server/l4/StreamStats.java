package io.portico.server.l4;

import java.util.concurrent.atomic.LongAdder;

/** Counters of one stream listener, updated by its connections on any event loop. */
public final class StreamStats {

    private final LongAdder connections = new LongAdder();
    private final LongAdder spliced = new LongAdder();
    private final LongAdder copied = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final LongAdder rejected = new LongAdder();

    void connectionAccepted() {
        connections.increment();
    }

    void relayStarted(boolean splice) {
        (splice ? spliced : copied).increment();
    }

    void connectFailed() {
        connectFailures.increment();
    }

    void rejected() {
        rejected.increment();
    }

    /** Client connections accepted (TCP) or sessions opened (UDP). */
    public long connections() {
        return connections.sum();
    }

    /** Connections relayed with splice(2), kernel to kernel, the bytes never copied into user space. */
    public long spliced() {
        return spliced.sum();
    }

    /** Connections relayed by copying through buffers (TLS, other transports, or splice turned off). */
    public long copied() {
        return copied.sum();
    }

    /** Backend connection attempts that failed (each retry counts). */
    public long connectFailures() {
        return connectFailures.sum();
    }

    /**
     * Connections or datagrams turned away: a PROXY header from an untrusted peer, the UDP session
     * cap, a UDP client the CIDR rules refuse.
     */
    public long rejectedCount() {
        return rejected.sum();
    }
}
