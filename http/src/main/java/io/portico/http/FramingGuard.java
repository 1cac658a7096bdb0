package io.portico.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpExpectationFailedEvent;
import io.netty.handler.codec.http.HttpHeadersFactory;

/**
 * Sits in front of an HTTP/1 decoder and passes on only bytes whose framing its
 * {@link Http1FramingScanner} accepts. At the first bad byte {@link #onBadByte} decides what
 * becomes of the buffer and the connection; every byte read after that is dropped. What a read's
 * bytes set off happens in its {@link ReadClock} scope.
 */
public abstract class FramingGuard extends ChannelInboundHandlerAdapter {

    /** Field names are not checked again: the scanner refused every name that is not a token. */
    private static final HttpHeadersFactory SCANNED_HEADERS =
            DefaultHttpHeadersFactory.headersFactory().withNameValidation(false);

    protected final Http1FramingScanner scanner;
    private boolean failed;
    private boolean reading;

    protected FramingGuard(Http1FramingScanner scanner) {
        this.scanner = scanner;
    }

    @Override
    public final void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (failed) {
            buf.release();
            droppedAfterFailure();
            return;
        }
        // What these bytes set off (a request's exchange, a response's end) reads the clock once.
        ReadClock clock = ReadClock.enter();
        reading = true;
        try {
            int bad = scanner.scan(buf);
            if (bad < 0) {
                ctx.fireChannelRead(buf);
                afterPassing(ctx);
                return;
            }
            failed = true;
            onBadByte(ctx, buf, bad);
        } finally {
            reading = false;
            clock.exit();
        }
    }

    /** Whether this guard is passing on (or refusing) a read's bytes: the handlers behind it run inside that. */
    protected final boolean reading() {
        return reading;
    }

    /** A read's bytes, all valid, went on; the handlers behind this guard have done with them. */
    protected void afterPassing(ChannelHandlerContext ctx) {
    }

    /**
     * {@code config} for a decoder behind a guard: header names go unchecked (the scanner refused
     * every name that is not a token, so Netty's check of each name again is skipped); trailers keep
     * Netty's check, which also refuses the fields a trailer section must not carry.
     */
    public static HttpDecoderConfig behindGuard(HttpDecoderConfig config) {
        return config.setHeadersFactory(SCANNED_HEADERS).setTrailersFactory(DefaultHttpHeadersFactory.trailersFactory());
    }

    /**
     * Keeps {@link HttpExpectationFailedEvent} from the decoder. Netty's aggregators fire it at the
     * pipeline's start after answering 417, and the decoder then drops the body it was reading and
     * takes the next bytes for a new request head, where the scanner counts them as body: the two
     * would disagree about where the next request starts. Kept from it, the decoder reads the body as
     * content, which the aggregator that answered discards.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof HttpExpectationFailedEvent) {
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** True between messages: nothing of a next one has been seen, and the framing never broke. */
    public boolean idle() {
        return !failed && scanner.idle();
    }

    /**
     * The framing broke at index {@code bad} of {@code buf}; {@link Http1FramingScanner#error()} says
     * why. The implementation owns {@code buf} (it passes it on or releases it).
     */
    protected abstract void onBadByte(ChannelHandlerContext ctx, ByteBuf buf, int bad);

    /** A read after the framing broke was dropped. */
    protected void droppedAfterFailure() {
    }
}
