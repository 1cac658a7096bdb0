package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;

import java.util.Arrays;

/**
 * Sits under the HTTP/2 codec and copies the small buffers it writes into one buffer per pass,
 * handed on at the flush (a small buffer that stays alone goes on as it is). Netty's frame writer
 * writes every frame as two or more buffers (a 9-byte frame header and its payload, for HEADERS a
 * slice of the HPACK block), so a 6-byte response is four buffers: each an entry of the channel's outbound buffer with its promise,
 * pending-bytes accounting and, for TLS, an entry of the SSL handler's queue, and an iovec of the
 * socket write. Copying a few dozen bytes costs less than that.
 *
 * <p>Only buffers of at most {@link #SMALL_BYTES} are copied; a larger one (a DATA frame's
 * payload) goes on as it is, after what was gathered before it, so the bytes keep their order.
 * Promises are kept and completed with the write of the buffer they were copied into: a frame
 * counts as written when its bytes have reached the socket, as without this handler. A gathering
 * buffer starts small and grows, so the memory it holds stays within twice what the channel's
 * outbound buffer counts for it (a client that stops reading cannot make each 17-byte PING ack
 * hold 16 KiB while being counted as 17 bytes).
 *
 * <p>Over TLS the SSL handler copies small buffers into its own queue too; gathering first still
 * saves its per-buffer entries.
 */
final class SmallWriteCoalescer extends ChannelOutboundHandlerAdapter {

    /** Buffers up to this size are copied; larger ones pass through. */
    static final int SMALL_BYTES = 512;
    /** The most one gathering buffer holds. */
    static final int GATHER_BYTES = 16 * 1024;
    /**
     * A gathering buffer's first size; it grows (doubling) as bytes come, so it never holds much
     * more memory than the outbound buffer counts for it (which is its readable bytes).
     */
    static final int FIRST_CAPACITY = 256;

    /** What waits for the next hand-on: one small buffer as it came, or a gathering buffer. */
    private ByteBuf gathered;
    /** The promise of {@link #gathered} while it is a single buffer as the codec wrote it, else null. */
    private ChannelPromise lonePromise;
    /** The promises of the buffers copied into a gathering buffer (void ones are not kept). */
    private ChannelPromise[] promises = new ChannelPromise[16];
    private int promiseCount;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf buf) || buf.readableBytes() > SMALL_BYTES) {
            handOn(ctx);
            ctx.write(msg, promise);
            return;
        }
        if (gathered == null) {
            // A buffer alone (a frame header before a large payload, one PING ack) goes on as it
            // is: copied only once a second one joins it.
            gathered = buf;
            lonePromise = promise;
            return;
        }
        try {
            int n = buf.readableBytes();
            if (lonePromise != null) {
                ByteBuf first = gathered;
                ByteBuf g = ctx.alloc().directBuffer(FIRST_CAPACITY, GATHER_BYTES);
                g.writeBytes(first, first.readerIndex(), first.readableBytes());
                gathered = g;
                first.release();
                keep(lonePromise);
                lonePromise = null;
            } else if (gathered.maxWritableBytes() < n) {
                handOn(ctx);
                gathered = buf;
                lonePromise = promise;
                return;
            }
            gathered.writeBytes(buf, buf.readerIndex(), n);
        } catch (Throwable t) {
            // Out of direct memory, say: this write fails alone; what was gathered stays as it was.
            ReferenceCountUtil.safeRelease(buf);
            promise.tryFailure(t);
            return;
        }
        buf.release();
        keep(promise);
    }

    private void keep(ChannelPromise promise) {
        if (promise.isVoid()) {
            return;
        }
        if (promiseCount == promises.length) {
            promises = Arrays.copyOf(promises, promiseCount * 2);
        }
        promises[promiseCount++] = promise;
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

    /** Writes what waits, its promises completed with that write. */
    private void handOn(ChannelHandlerContext ctx) {
        ByteBuf buf = gathered;
        if (buf == null) {
            return;
        }
        gathered = null;
        ChannelPromise lone = lonePromise;
        if (lone != null) {
            lonePromise = null;
            ctx.write(buf, lone);
            return;
        }
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
