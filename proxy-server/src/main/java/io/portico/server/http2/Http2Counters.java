package io.portico.server.http2;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * HTTP/2 events on one listener that an operator wants to see: connections and streams, and each
 * kind of abuse that ended a connection with GOAWAY. Written from every event loop, read by
 * whoever reports metrics.
 */
public final class Http2Counters {

    /** Why a connection was closed with GOAWAY for misbehaving, or a stream was cut. */
    public enum Reason {
        /** More RST_STREAM frames from the client than allowed in the window (CVE-2023-44487). */
        RAPID_RESET("rapid_reset"),
        /** The client made Portico send too many RST_STREAM frames. */
        SERVER_RESETS("server_resets"),
        /**
         * A header block that CONTINUATION frames drag on: too many small ones in a row, or ones that
         * carry it past the hard limit on its bytes, 1.25 × max_header_list_size (CVE-2024-27316 and kin).
         */
        CONTINUATION_FLOOD("continuation_flood"),
        /**
         * A header list over max_header_list_size: decoded (answered 431, e.g. an HPACK bomb), or one
         * HEADERS frame beyond the hard limit of 1.25 × that.
         */
        HEADER_LIST_TOO_LARGE("header_list_too_large"),
        SETTINGS_FLOOD("settings_flood"),
        PING_FLOOD("ping_flood"),
        PRIORITY_FLOOD("priority_flood"),
        WINDOW_UPDATE_FLOOD("window_update_flood"),
        EMPTY_DATA_FLOOD("empty_data_flood"),
        /** Control frame answers piled up for a client that does not read. */
        CONTROL_FRAME_QUEUE("control_frame_queue"),
        /** Any other connection error (a malformed frame, a bad preface...). */
        PROTOCOL_ERROR("protocol_error"),
        /** A stream that sat at a zero window or stopped sending its body for stream_idle_timeout (stream reset, not GOAWAY). */
        STREAM_IDLE_TIMEOUT("stream_idle_timeout"),
        /** A request that broke RFC 9113 section 8 (stream reset, not GOAWAY). */
        MALFORMED_REQUEST("malformed_request");

        private final String key;

        Reason(String key) {
            this.key = key;
        }

        /** Whether this limit is checked on frames Portico sends (counted where it is detected). */
        boolean outbound() {
            return this == SERVER_RESETS || this == HEADER_LIST_TOO_LARGE;
        }

        public String key() {
            return key;
        }
    }

    private final LongAdder connections = new LongAdder();
    private final LongAdder streams = new LongAdder();
    private final LongAdder gracefulGoAways = new LongAdder();
    private final LongAdder[] reasons = new LongAdder[Reason.values().length];

    public Http2Counters() {
        for (int i = 0; i < reasons.length; i++) {
            reasons[i] = new LongAdder();
        }
    }

    void connectionOpened() {
        connections.increment();
    }

    void streamOpened() {
        streams.increment();
    }

    void gracefulGoAway() {
        gracefulGoAways.increment();
    }

    /** Counts one occurrence of {@code reason}. */
    public void count(Reason reason) {
        reasons[reason.ordinal()].increment();
    }

    public long get(Reason reason) {
        return reasons[reason.ordinal()].sum();
    }

    /** HTTP/2 connections accepted (ALPN h2, h2c prior knowledge or upgrade). */
    public long connections() {
        return connections.sum();
    }

    public long streams() {
        return streams.sum();
    }

    /** GOAWAY frames sent to drain connections at shutdown. */
    public long gracefulGoAways() {
        return gracefulGoAways.sum();
    }

    /** Every counter by name, for a metrics endpoint. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("connections", connections());
        m.put("streams", streams());
        m.put("graceful_goaways", gracefulGoAways());
        for (Reason r : Reason.values()) {
            m.put(r.key(), get(r));
        }
        return m;
    }
}
