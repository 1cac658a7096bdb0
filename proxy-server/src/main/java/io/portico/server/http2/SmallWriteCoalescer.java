package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

import java.util.Arrays;

/**
 * Sits under the HTTP/2 codec and copies the small buffers it writes into one buffer per pass,
 * handed on at the flush. Netty's frame writer writes every frame as two or more buffers (a
 * 9-byte frame header and its payload, for HEADERS a slice of the HPACK block), so a 6-byte
 * response is four buffers: each an entry of the channel's outbound buffer with its promise,
 * pending-bytes accounting and, for TLS, an entry of the SSL handler's queue, and an iovec of the
 * socket write. Copying a few dozen bytes costs less than that.
 *
 * <p>Only buffers of at most {@link #SMALL_BYTES} are copied; a larger one (a DATA frame's
 * payload) goes on as it is, after what was gathered before it, so the bytes keep their order.
 * Promises are kept and completed with the write of the buffer they were copied into: a frame
 * counts as written when its bytes have reached the socket, as without this handler.
 */
final class SmallWriteCoalescer extends ChannelOutboundHandlerAdapter {

    /** Buffers up to this size are copied; larger ones pass through. */
    static final int SMALL_BYTES = 512;
    /** The size of a gathering buffer. */
    static final int GATHER_BYTES = 16 * 1024;

    private ByteBuf gathered;
    /** The promises of the buffers copied into {@link #gathered} (void ones are not kept). */
    private ChannelPromise[] promises = new ChannelPromise[16];
    private int promiseCount;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf && buf.readableBytes() <= SMALL_BYTES) {
            int n = buf.readableBytes();
            if (gathered != null && gathered.writableBytes() < n) {
                handOn(ctx);
            }
            if (gathered == null) {
                gathered = ctx.alloc().directBuffer(GATHER_BYTES);
            }
            gathered.writeBytes(buf, buf.readerIndex(), n);
            buf.release();
            if (!promise.isVoid()) {
                if (promiseCount == promises.length) {
                    promises = Arrays.copyOf(promises, promiseCount * 2);
                }
                promises[promiseCount++] = promise;
            }
            return;
        }
        handOn(ctx);
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        handOn(ctx);
        ctx.flush();
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        // A GOAWAY written just before the close goes out with it, as it would have without this handler.
        handOn(ctx);
        ctx.flush();
        ctx.close(promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        handOn(ctx);
    }

    /** Writes what was gathered, its promises completed with that write. */
    private void handOn(ChannelHandlerContext ctx) {
        ByteBuf buf = gathered;
        if (buf == null) {
            return;
        }
        gathered = null;
        int n = promiseCount;
        if (n == 0) {
            ctx.write(buf, ctx.voidPromise());
            return;
        }
        ChannelPromise[] waiting = promises;
        promises = new ChannelPromise[Math.max(16, n)];
        promiseCount = 0;
        ctx.write(buf).addListener(new Completion(waiting, n));
    }

    /** Completes the promises of the buffers copied into one gathered write, as that write did. */
    private record Completion(ChannelPromise[] promises, int count) implements ChannelFutureListener {
        @Override
        public void operationComplete(ChannelFuture future) {
            Throwable cause = future.cause();
            for (int i = 0; i < count; i++) {
                if (cause == null) {
                    promises[i].trySuccess();
                } else {
                    promises[i].tryFailure(cause);
                }
            }
        }
    }
}
