package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2FrameTypes;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2LifecycleManager;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.List;

/**
 * Counts the control frames Netty has no limit for — SETTINGS, PING, PRIORITY and WINDOW_UPDATE —
 * per second and per connection, and ends a connection that sends more than it can have a reason
 * to with GOAWAY ENHANCE_YOUR_CALM. WINDOW_UPDATE frames are a client's answer to DATA, so each
 * DATA frame Portico sent (this second or the last) allows two more. On the way out it counts the
 * resets a client provokes (max_server_resets) and the bare 431 Netty answers an oversized header
 * list with (an HPACK bomb), each ending the connection too. It also follows the frame headers of
 * what the codec reads, so a header block that CONTINUATION frames carry past Netty's hard limit on
 * its bytes counts as the CONTINUATION flood it is, not as one oversized header list. A request
 * the codec refuses while it decodes the fields (its stream never opens) is counted and logged here,
 * and so is the 431 it answers a header list too large with.
 */
final class FloodGuard {

    private static final long SECOND = 1_000_000_000L;

    /**
     * How the message of Netty's connection error for a header block over the hard limit (1.25 ×
     * max_header_list_size, counted in encoded bytes as they arrive) begins, whichever frame crossed it.
     */
    static final String HEADER_BLOCK_TOO_LARGE = "Header size exceeded";

    private final int max;
    private final Http2Counters counters;
    /** Logs a request the codec refused before its stream had a handler (see {@link io.portico.server.http1.MalformedStream}). */
    private final RefusedStreams refusedStreams;
    private final int maxServerResets;
    private final long resetWindowNanos;
    private long resetWindowStart = System.nanoTime();
    private int serverResets;
    private Http2LifecycleManager lifecycle;
    private boolean failed;
    private long windowStart = System.nanoTime();
    private int settings;
    private int pings;
    private int priorities;
    private int windowUpdates;
    private int dataSent;
    private int dataSentBefore;
    /** Payload bytes of the last frame header seen that the codec has not consumed yet. */
    private int payloadLeft;
    /** The type of the last frame whose header the codec consumed. */
    private byte lastFrameType = -1;
    /** CONTINUATION frames since the last HEADERS or PUSH_PROMISE frame. */
    private int continuations;

    FloodGuard(int maxPerSecond, int maxServerResets, long resetWindowNanos, Http2Counters counters,
               RefusedStreams refusedStreams) {
        this.max = maxPerSecond;
        this.maxServerResets = maxServerResets;
        this.resetWindowNanos = resetWindowNanos;
        this.counters = counters;
        this.refusedStreams = refusedStreams;
    }

    Http2ConnectionDecoder decorate(Http2ConnectionDecoder decoder) {
        return new DecoratingHttp2ConnectionDecoder(decoder) {
            @Override
            public void frameListener(Http2FrameListener listener) {
                super.frameListener(new Listener(listener));
            }

            @Override
            public void decodeFrame(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Http2Exception {
                int from = in.readerIndex();
                try {
                    super.decodeFrame(ctx, in, out);
                } catch (Http2Exception e) {
                    follow(in, from, in.readerIndex());
                    throw continuationCarriedTooFar(e) ? flood(Http2Counters.Reason.CONTINUATION_FLOOD, continuations) : e;
                }
                follow(in, from, in.readerIndex());
            }
        };
    }

    Http2ConnectionEncoder decorate(Http2ConnectionEncoder encoder) {
        return new DecoratingHttp2ConnectionEncoder(encoder) {
            @Override
            public void lifecycleManager(Http2LifecycleManager manager) {
                lifecycle = manager;
                super.lifecycleManager(manager);
            }

            @Override
            public ChannelFuture writeRstStream(ChannelHandlerContext ctx, int streamId, long errorCode,
                                                ChannelPromise promise) {
                if (errorCode == Http2Error.PROTOCOL_ERROR.code() && streamId > connection().remote().lastStreamCreated()) {
                    // A request the codec refused as it decoded its fields (a connection-specific or
                    // upper-case field, a misplaced pseudo-header...): its stream never opened, so no
                    // stream handler counts or logs it.
                    counters.count(Http2Counters.Reason.MALFORMED_REQUEST);
                    refusedStreams.malformed();
                }
                Http2Stream stream = connection().stream(streamId);
                if (stream != null && stream.isResetSent()) {
                    // Netty sends one RST_STREAM per stream: this one (a frame that could not be
                    // sent on the stream the first closed) goes nowhere, and is not counted.
                    return super.writeRstStream(ctx, streamId, errorCode, promise);
                }
                ChannelFuture f = super.writeRstStream(ctx, streamId, errorCode, promise);
                // (The call above marked the stream reset.)
                if (stream != null && stream.state() != Http2Stream.State.CLOSED && lifecycle != null && connection().remote().flowController().hasFlowControlled(stream)) {
                    // Nothing may follow a RST_STREAM on its stream (RFC 9113 section 5.1), but Netty
                    // closes the stream, and drops the frames it has queued for it (a response
                    // waiting for window, or for the connection's flush), only once the RST_STREAM has
                    // been written: the flush that writes it would write them after it. Closed now,
                    // they go.
                    lifecycle.closeStream(stream, ctx.newSucceededFuture());
                }
                long now = System.nanoTime();
                if (now - resetWindowStart > resetWindowNanos) {
                    resetWindowStart = now;
                    serverResets = 0;
                }
                // Resets the client provoked (malformed requests, MadeYouReset). A CANCEL is Portico's own
                // doing, and so is a NO_ERROR: it follows a whole response that came before the request's
                // end (a 413, a 401, an upstream that answered early) and only asks the client to stop
                // sending (RFC 9113 section 8.1); counting it ended busy, well-behaved upload connections.
                if (errorCode != Http2Error.CANCEL.code() && errorCode != Http2Error.NO_ERROR.code()
                        && ++serverResets > maxServerResets) {
                    fail(ctx, Http2Counters.Reason.SERVER_RESETS, serverResets);
                }
                return f;
            }

            @Override
            public ChannelFuture writeHeaders(ChannelHandlerContext ctx, int streamId, Http2Headers headers,
                                              int padding, boolean endStream, ChannelPromise promise) {
                ChannelFuture f = super.writeHeaders(ctx, streamId, headers, padding, endStream, promise);
                // Netty answers a header list over max_header_list_size with a bare 431 (an exchange's
                // answer always carries more fields): that client ignored our SETTINGS, or sent an HPACK bomb.
                // No exchange handler saw the request: its access-log line is written here.
                if (headers.size() == 1 && HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE.codeAsText()
                        .contentEquals(headers.status())) {
                    refusedStreams.headerListTooLarge();
                    fail(ctx, Http2Counters.Reason.HEADER_LIST_TOO_LARGE, 1);
                }
                return f;
            }

            @Override
            public ChannelFuture writeData(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                                           boolean endStream, ChannelPromise promise) {
                dataSent++;
                return super.writeData(ctx, streamId, data, padding, endStream, promise);
            }
        };
    }

    /**
     * Follows the frame headers in the bytes {@code [from, to)} of {@code in} the codec has just
     * consumed: it reads a frame header whole, and a payload whole, possibly in a later read than its
     * header. A few reads per frame, on bytes in hand: cheap next to the codec's own work on a frame.
     */
    private void follow(ByteBuf in, int from, int to) {
        int i = from;
        while (true) {
            int skip = Math.min(payloadLeft, to - i);
            i += skip;
            payloadLeft -= skip;
            if (payloadLeft > 0 || to - i < Http2CodecUtil.FRAME_HEADER_LENGTH) {
                return;
            }
            payloadLeft = in.getUnsignedMedium(i);
            lastFrameType = in.getByte(i + 3);
            if (lastFrameType == Http2FrameTypes.CONTINUATION) {
                continuations++;
            } else if (lastFrameType == Http2FrameTypes.HEADERS || lastFrameType == Http2FrameTypes.PUSH_PROMISE) {
                continuations = 0;
            }
            i += Http2CodecUtil.FRAME_HEADER_LENGTH;
        }
    }

    /**
     * Whether {@code e} is Netty's connection error for a header block over the hard limit on its
     * bytes, crossed by a CONTINUATION frame: a flood of them (by count, Netty stops only those
     * under 8 KiB; by bytes, this), not one oversized HEADERS frame. The 431 of a header list that
     * decodes too large is a stream error, and stays one.
     */
    private boolean continuationCarriedTooFar(Http2Exception e) {
        return lastFrameType == Http2FrameTypes.CONTINUATION && !(e instanceof Http2Exception.StreamException)
                && e.getMessage() != null && e.getMessage().startsWith(HEADER_BLOCK_TOO_LARGE);
    }

    /** An outbound limit was crossed: count it and let the codec send GOAWAY and close. */
    private void fail(ChannelHandlerContext ctx, Http2Counters.Reason reason, int count) {
        if (lifecycle != null && !failed && ctx.channel().isActive()) {
            failed = true;
            counters.count(reason);
            lifecycle.onError(ctx, true, new FloodException(reason, count));
        }
    }

    private void roll() {
        long now = System.nanoTime();
        if (now - windowStart >= SECOND) {
            boolean adjacent = now - windowStart < 2 * SECOND;
            windowStart = now;
            dataSentBefore = adjacent ? dataSent : 0;
            dataSent = 0;
            settings = 0;
            pings = 0;
            priorities = 0;
            windowUpdates = 0;
        }
    }

    private static Http2Exception flood(Http2Counters.Reason reason, int count) {
        return new FloodException(reason, count);
    }

    /** A connection error that names which limit was crossed. */
    static final class FloodException extends Http2Exception {
        private static final long serialVersionUID = 1L;
        private final transient Http2Counters.Reason reason;

        FloodException(Http2Counters.Reason reason, int count) {
            super(Http2Error.ENHANCE_YOUR_CALM, reason.key() + " (" + count + ")",
                    ShutdownHint.HARD_SHUTDOWN);
            this.reason = reason;
        }

        Http2Counters.Reason reason() {
            return reason;
        }
    }

    private final class Listener extends Http2FrameListenerDecorator {

        Listener(Http2FrameListener delegate) {
            super(delegate);
        }

        @Override
        public void onSettingsRead(ChannelHandlerContext ctx, Http2Settings s) throws Http2Exception {
            roll();
            if (++settings > max) {
                throw flood(Http2Counters.Reason.SETTINGS_FLOOD, settings);
            }
            super.onSettingsRead(ctx, s);
        }

        @Override
        public void onPingRead(ChannelHandlerContext ctx, long data) throws Http2Exception {
            roll();
            if (++pings > max) {
                throw flood(Http2Counters.Reason.PING_FLOOD, pings);
            }
            super.onPingRead(ctx, data);
        }

        @Override
        public void onPriorityRead(ChannelHandlerContext ctx, int streamId, int dependency, short weight,
                                   boolean exclusive) throws Http2Exception {
            roll();
            if (++priorities > max) {
                throw flood(Http2Counters.Reason.PRIORITY_FLOOD, priorities);
            }
            super.onPriorityRead(ctx, streamId, dependency, weight, exclusive);
        }

        @Override
        public void onWindowUpdateRead(ChannelHandlerContext ctx, int streamId, int increment) throws Http2Exception {
            roll();
            if (++windowUpdates > max + 2 * (dataSent + dataSentBefore)) {
                throw flood(Http2Counters.Reason.WINDOW_UPDATE_FLOOD, windowUpdates);
            }
            super.onWindowUpdateRead(ctx, streamId, increment);
        }
    }
}
