package io.portico.server.http2;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.util.AsciiString;
import io.portico.server.config.Http2ListenerConfig;

/**
 * Builds the frame codec of a client connection: the SETTINGS Portico announces and Netty's own
 * abuse limits from config, with a {@link FloodGuard} around the decoder and encoder for the
 * limits Netty lacks. Connections to HTTP/2 backends get the same flow-control sharing
 * ({@link #forUpstream()}).
 */
public final class Http2Codecs extends Http2FrameCodecBuilder {

    private static final AsciiString X_REQUEST_ID = AsciiString.cached("x-request-id");

    /**
     * Fields HPACK sends as "never indexed" (RFC 7541 section 7.1.3) instead of adding them to the
     * dynamic table: credentials and cookies, whose values must not be guessable by probing a
     * shared compression context (CRIME-style), and X-Request-Id, new on every message, which
     * would only evict useful entries (as most fields, at the cost of a table insertion and
     * eviction per message). Netty's default indexes everything.
     */
    public static final Http2HeadersEncoder.SensitivityDetector NEVER_INDEXED = (name, value) ->
            AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.SET_COOKIE)
                    || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.COOKIE)
                    || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.AUTHORIZATION)
                    || AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.PROXY_AUTHORIZATION)
                    || AsciiString.contentEqualsIgnoreCase(name, X_REQUEST_ID);

    /** Request body bytes a stream to a backend sends in its turn while others have some waiting. */
    private static final int UPSTREAM_CHUNK_SIZE = 16 * 1024;

    private final boolean server;
    private final FloodGuard guard;

    /** @param guard the client-facing abuse limits, or null for a connection to a backend */
    private Http2Codecs(boolean server, FloodGuard guard, int chunkSize) {
        this.server = server;
        this.guard = guard;
        // Stream priorities are deprecated (RFC 9113 section 5.3.2) and neither HAProxy nor
        // Portico's HTTP/1.1 upstreams use them: bytes go to the streams that have some, in equal
        // shares, without the priority tree Netty keeps by default (its queue operations and the
        // JIT's changing type profiles around them cost CPU on every DATA frame). A share is at
        // least chunk_size: Netty's 1 KiB minimum cut each 16 KiB response of 32 streams in flight
        // into ~2 KiB slices (a DATA frame, a queue entry and a promise each), a quarter of the
        // CPU of such a response.
        DefaultHttp2Connection connection = new DefaultHttp2Connection(server);
        UniformStreamByteDistributor distributor = new UniformStreamByteDistributor(connection);
        distributor.minAllocationChunk(chunkSize);
        connection.remote().flowController(new DefaultHttp2RemoteFlowController(connection, distributor));
        connection(connection);
    }

    /**
     * A new codec for one connection.
     *
     * @param connectProtocol announce SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 WebSockets)
     * @param gracefulMillis  how long a closing connection waits for its open streams
     * @param refusedStreams  logs a request the codec refused before its stream had a handler (malformed, 431)
     */
    static Http2FrameCodec newCodec(Http2ListenerConfig c, Http2Counters counters, boolean connectProtocol,
                                    long gracefulMillis, RefusedStreams refusedStreams) {
        Http2Settings settings = Http2Settings.defaultSettings()
                .maxConcurrentStreams(c.maxConcurrentStreams())
                .initialWindowSize(c.initialWindowSize().intBytes())
                .maxFrameSize(c.maxFrameSize().intBytes())
                .maxHeaderListSize(c.maxHeaderListSize().bytes())
                .headerTableSize(c.headerTableSize().bytes());
        if (connectProtocol) {
            settings.connectProtocolEnabled(true);
        }
        int window = (int) c.resetWindow().toSeconds();
        FloodGuard guard = new FloodGuard(c.maxControlFramesPerSecond(), c.maxServerResets(),
                c.resetWindow().toNanos(), counters, refusedStreams);
        return new Http2Codecs(true, guard, c.chunkSize().intBytes())
                .initialSettings(settings)
                .validateHeaders(true)
                .headerSensitivityDetector(NEVER_INDEXED)
                .gracefulShutdownTimeoutMillis(gracefulMillis)
                .decoderEnforceMaxRstFramesPerWindow(c.maxResets(), window)
                // Resets Portico sends are limited by the FloodGuard, which can tell provoked ones from its own.
                .encoderEnforceMaxRstFramesPerWindow(0, 0)
                .decoderEnforceMaxSmallContinuationFrames(c.maxContinuationFrames())
                .decoderEnforceMaxConsecutiveEmptyDataFrames(c.maxEmptyDataFrames())
                .encoderEnforceMaxQueuedControlFrames(c.maxQueuedControlFrames())
                .build();
    }

    /**
     * A builder for the codec of a connection to an HTTP/2 backend ({@code forClient()} with the
     * same equal shares in whole turns for request bodies).
     */
    public static Http2FrameCodecBuilder forUpstream() {
        return new Http2Codecs(false, null, UPSTREAM_CHUNK_SIZE);
    }

    /**
     * The builder's own server flag cannot be set once a connection is given, and defaults to
     * true; Netty reads it for server-only defaults such as its limit on the RST_STREAM frames a
     * peer may send, which would close a backend connection that refuses many streams.
     */
    @Override
    public boolean isServer() {
        return server;
    }

    @Override
    protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                    Http2Settings initialSettings) {
        if (guard == null) {
            return super.build(decoder, encoder, initialSettings);
        }
        return super.build(guard.decorate(decoder), guard.decorate(encoder), initialSettings);
    }
}
