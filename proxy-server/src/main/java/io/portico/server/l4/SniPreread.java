package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.util.concurrent.Future;

import java.util.List;

/**
 * Reads the server name from the client's TLS ClientHello without terminating TLS (nginx
 * {@code ssl_preread}, HAProxy {@code req.ssl_sni}). Netty's {@link AbstractSniHandler} parses the
 * record, fires a {@link SniCompletionEvent} with the name (null without SNI, or when the bytes
 * are not TLS at all), and this handler leaves the pipeline, handing every byte it held to the relay untouched.
 * A client that sends no complete ClientHello within the preread timeout is closed.
 *
 * <p>A zero-length handshake record fails the preread (RFC 8446 5.1 forbids them): Netty 4.2.18
 * reports such a ClientHello as having no name, so the connection went to the fallback group,
 * while backends that skip empty records then read the real ClientHello and its name.
 */
final class SniPreread extends AbstractSniHandler<String> {

    private static final int TLS_RECORD_HEADER = 5;
    private static final int TLS_HANDSHAKE = 22;

    /**
     * Bytes past the reader index whose records have been checked. Netty's decoder consumes
     * nothing until it has decided, so the offset stays valid across reads, and each byte is
     * checked once however finely the client fragments its records.
     */
    private int checked;
    /** The bytes stopped looking like handshake records: Netty decides on its own (no name). */
    private boolean doneChecking;
    private boolean failed;

    SniPreread(long timeoutMillis) {
        super(timeoutMillis);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (!doneChecking && hasEmptyHandshakeRecord(in)) {
            failed = true;
            in.skipBytes(in.readableBytes());
            // As Netty's own malformed-ClientHello path: the relay sees a failed preread and closes.
            ctx.fireUserEventTriggered(new SniCompletionEvent(new NotSslRecordException("zero-length TLS handshake record")));
            ctx.close();
            return;
        }
        super.decode(ctx, in, out);
    }

    private boolean hasEmptyHandshakeRecord(ByteBuf in) {
        int start = in.readerIndex();
        int readable = in.readableBytes();
        while (readable - checked >= TLS_RECORD_HEADER) {
            int at = start + checked;
            if (in.getUnsignedByte(at) != TLS_HANDSHAKE || in.getUnsignedByte(at + 1) != 3) {
                doneChecking = true;
                return false;
            }
            int length = in.getUnsignedShort(at + 3);
            if (length == 0) {
                return true;
            }
            if (readable - checked < TLS_RECORD_HEADER + length) {
                return false;
            }
            checked += TLS_RECORD_HEADER + length;
        }
        return false;
    }

    @Override
    protected Future<String> lookup(ChannelHandlerContext ctx, String hostname) {
        return ctx.executor().newSucceededFuture(hostname);
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<String> future) {
        // Leaving hands the bytes held so far (the ClientHello) on; the relay acts on the
        // SniCompletionEvent that follows.
        ctx.pipeline().remove(this);
    }
}
