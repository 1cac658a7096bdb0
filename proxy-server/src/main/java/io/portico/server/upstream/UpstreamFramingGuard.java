package io.portico.server.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.portico.http.FramingGuard;
import io.portico.http.Http1FramingScanner;

/**
 * Checks an upstream's responses byte by byte ({@link Http1FramingScanner#forResponses()}) before
 * the lenient decoder reads them: Content-Length with Transfer-Encoding, repeated or malformed
 * lengths, a Transfer-Encoding not ending in chunked, obs-fold, bad chunk sizes or endings. At the
 * first bad byte nothing more reaches the decoder and an {@link UpstreamFramingException} ends
 * the exchange (502, or a cut response if it had started) and closes the connection, so a
 * connection whose framing is in doubt never carries another request.
 *
 * <p>The scanner must know which requests were HEAD (their responses have no body): the
 * {@link #requestWatcher()} half sits behind the encoder and tells it.
 */
final class UpstreamFramingGuard extends FramingGuard {

    UpstreamFramingGuard() {
        super(Http1FramingScanner.forResponses());
    }

    @Override
    protected void onBadByte(ChannelHandlerContext ctx, ByteBuf buf, int bad) {
        // The connection ends here whatever comes of the bytes before the bad one: marked first,
        // so that a response they complete cannot hand it back to the pool (and the next request
        // its trailing bytes).
        UpstreamConnection connection = ctx.pipeline().get(UpstreamConnection.class);
        if (connection != null) {
            connection.doNotReuse();
        }
        if (bad > buf.readerIndex() && scanner.failedBetweenMessages()) {
            // What came before is whole responses: one followed by bytes nobody asked for
            // (RFC 9112 section 6.3: the client may discard them) is still answered. A response
            // broken in the middle is not begun at all (502 rather than a cut answer).
            buf.writerIndex(bad);
            ctx.fireChannelRead(buf);
        } else {
            buf.release();
        }
        ctx.fireExceptionCaught(new UpstreamFramingException(scanner.error()));
    }

    /** The outbound half: notes each request as it goes to the encoder. */
    ChannelHandler requestWatcher() {
        return new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof HttpRequest request) {
                    scanner.requestSent(HttpMethod.HEAD.equals(request.method()));
                }
                ctx.write(msg, promise);
            }
        };
    }
}
