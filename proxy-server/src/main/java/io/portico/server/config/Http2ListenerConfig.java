package io.portico.server.config;

import java.time.Duration;

/**
 * HTTP/2 towards clients on one listener: whether it is offered, the SETTINGS Portico announces,
 * and the limits that close an abusive connection with GOAWAY.
 *
 * <p>Like Envoy (and unlike nginx, which needs {@code http2 on}), HTTP/2 is on by default: in ALPN
 * on TLS listeners, and as cleartext h2c on plain ones, where a connection that opens with the
 * HTTP/2 preface (prior knowledge) or a body-less request asking for {@code Upgrade: h2c} switches
 * to HTTP/2 and every other connection stays HTTP/1.1 at no cost.
 *
 * @param enabled                   offer {@code h2} in ALPN on a TLS listener
 * @param h2c                       accept cleartext HTTP/2 on a plain listener (prior knowledge and {@code Upgrade: h2c})
 * @param maxConcurrentStreams      SETTINGS_MAX_CONCURRENT_STREAMS (nginx: 128)
 * @param initialWindowSize         SETTINGS_INITIAL_WINDOW_SIZE: request body bytes a stream may send
 *                                  before the upstream has taken them (nginx http2_body_preread_size 64k)
 * @param connectionWindowSize      receive window of the whole connection; at least
 *                                  max_concurrent_streams × initial_window_size so that stalled
 *                                  streams never block the others
 * @param maxFrameSize              SETTINGS_MAX_FRAME_SIZE
 * @param chunkSize                 response bytes one stream may send before the next stream with
 *                                  bytes waiting gets its turn (nginx's {@code http2_chunk_size}, 8k
 *                                  there): Portico's output is shared among the streams that have
 *                                  data in turns of at least this many bytes, so a response of up to
 *                                  this size leaves as one DATA frame (at most max frame size the
 *                                  client allows) rather than interleaved in small slices
 * @param maxHeaderListSize         SETTINGS_MAX_HEADER_LIST_SIZE; a larger request head gets 431, and a
 *                                  header block beyond 1.25× that (an HPACK bomb) closes the connection
 * @param headerTableSize           SETTINGS_HEADER_TABLE_SIZE (HPACK dynamic table)
 * @param streamIdleTimeout         a stream that moves no byte for this long while it waits on the
 *                                  client (a zero window, a stalled upload) is reset
 * @param maxResets                 RST_STREAM frames from a client within reset_window (rapid reset) before GOAWAY
 * @param maxServerResets           RST_STREAM frames Portico sends within reset_window (resets a client
 *                                  provokes with malformed requests) before GOAWAY
 * @param resetWindow               the window both reset counts are taken over
 * @param maxContinuationFrames     consecutive small CONTINUATION frames before GOAWAY (CONTINUATION flood,
 *                                  as are CONTINUATION frames that carry a header block past 1.25 ×
 *                                  max_header_list_size)
 * @param maxEmptyDataFrames        consecutive empty DATA frames without END_STREAM before GOAWAY
 * @param maxQueuedControlFrames    control frame answers (PING/SETTINGS acks, resets) queued to a
 *                                  client that does not read before GOAWAY
 * @param maxControlFramesPerSecond SETTINGS, PING and PRIORITY frames each, and WINDOW_UPDATE frames
 *                                  beyond one per DATA frame sent, a client may send per second before GOAWAY
 */
public record Http2ListenerConfig(
        @Default("true") boolean enabled,
        @Default("true") boolean h2c,
        @Default("128") int maxConcurrentStreams,
        @Default("64k") ByteSize initialWindowSize,
        @Default("8m") ByteSize connectionWindowSize,
        @Default("16k") ByteSize maxFrameSize,
        @Default("16k") ByteSize chunkSize,
        @Default("32k") ByteSize maxHeaderListSize,
        @Default("4k") ByteSize headerTableSize,
        @Default("60s") Duration streamIdleTimeout,
        @Default("200") int maxResets,
        @Default("200") int maxServerResets,
        @Default("30s") Duration resetWindow,
        @Default("16") int maxContinuationFrames,
        @Default("10") int maxEmptyDataFrames,
        @Default("10000") int maxQueuedControlFrames,
        @Default("100") int maxControlFramesPerSecond) {

    public Http2ListenerConfig {
        if (maxConcurrentStreams < 1) {
            throw new InvalidConfigException("max_concurrent_streams", "must be at least 1");
        }
        if (initialWindowSize.bytes() < 1024 || initialWindowSize.bytes() > Integer.MAX_VALUE) {
            throw new InvalidConfigException("initial_window_size", "must be between 1k and 2147483647 bytes");
        }
        if (connectionWindowSize.bytes() < 65535 || connectionWindowSize.bytes() > Integer.MAX_VALUE) {
            throw new InvalidConfigException("connection_window_size", "must be between 65535 and 2147483647 bytes");
        }
        if (maxFrameSize.bytes() < 16384 || maxFrameSize.bytes() > 16777215) {
            throw new InvalidConfigException("max_frame_size", "must be between 16k and 16777215 bytes (RFC 9113)");
        }
        if (chunkSize.bytes() < 1024 || chunkSize.bytes() > 16777215) {
            throw new InvalidConfigException("chunk_size", "must be between 1k and 16777215 bytes");
        }
        if (maxHeaderListSize.bytes() < 1024 || maxHeaderListSize.bytes() > Integer.MAX_VALUE) {
            throw new InvalidConfigException("max_header_list_size", "must be at least 1k");
        }
        if (headerTableSize.bytes() > Integer.MAX_VALUE) {
            throw new InvalidConfigException("header_table_size", "too large");
        }
        if (streamIdleTimeout.isNegative() || streamIdleTimeout.isZero()) {
            throw new InvalidConfigException("stream_idle_timeout", "must be positive");
        }
        if (maxResets < 1 || maxServerResets < 1) {
            throw new InvalidConfigException(maxResets < 1 ? "max_resets" : "max_server_resets", "must be at least 1");
        }
        if (resetWindow.toSeconds() < 1) {
            throw new InvalidConfigException("reset_window", "must be at least 1s");
        }
        if (maxContinuationFrames < 1 || maxEmptyDataFrames < 1 || maxQueuedControlFrames < 1
                || maxControlFramesPerSecond < 1) {
            throw new InvalidConfigException(maxContinuationFrames < 1 ? "max_continuation_frames"
                    : maxEmptyDataFrames < 1 ? "max_empty_data_frames"
                    : maxQueuedControlFrames < 1 ? "max_queued_control_frames" : "max_control_frames_per_second",
                    "must be at least 1");
        }
    }

    /** Every default, as a listener without an {@code http2} section gets. */
    public static Http2ListenerConfig defaults() {
        return new Http2ListenerConfig(true, true, 128, ByteSize.parse("64k"), ByteSize.parse("8m"),
                ByteSize.parse("16k"), ByteSize.parse("16k"), ByteSize.parse("32k"), ByteSize.parse("4k"),
                Duration.ofSeconds(60),
                200, 200, Duration.ofSeconds(30), 16, 10, 10000, 100);
    }
}
