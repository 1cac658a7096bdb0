package io.portico.loadtests.ws;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler.ClientHandshakeStateEvent;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * One client WebSocket that sends text messages and checks each echo byte for byte. A message is
 * {@code s<socket>-n<sequence>-} padded with {@code x} to the message size, so an echo delivered to
 * the wrong socket, out of order, truncated or corrupted does not match. Runs on its channel's
 * event loop only, so its state needs no synchronisation. {@link #ready()} completes after the
 * handshake and the first verified echo.
 */
abstract class SocketHandler extends ChannelInboundHandlerAdapter {

    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final byte[] prefix;
    private final byte[] expected;
    private final int messageBytes;
    private int expectedLength;
    private long sequence;
    private long sentNanos;
    private volatile Channel channel;

    SocketHandler(int id, int messageBytes) {
        this.prefix = ("s" + id + "-n").getBytes(StandardCharsets.US_ASCII);
        this.expected = new byte[Math.max(messageBytes, prefix.length + 21)];
        this.messageBytes = messageBytes;
    }

    final CompletableFuture<Void> ready() {
        return ready;
    }

    final Channel channel() {
        return channel;
    }

    final void fail(Throwable cause) {
        ready.completeExceptionally(cause);
    }

    /** Called on the event loop with each echo that matched, LATENCY_NANOS after its send. */
    abstract void echoed(ChannelHandlerContext ctx, long latencyNanos);

    /** Called on the event loop when an echo did not match what was sent. */
    abstract void mismatched(ChannelHandlerContext ctx);

    /** Called on the event loop when the socket closes after it came up. */
    void closed() {
    }

    final void send(ChannelHandlerContext ctx) {
        int n = fill(++sequence);
        sentNanos = System.nanoTime();
        ByteBuf payload = ctx.alloc().buffer(n).writeBytes(expected, 0, n);
        ctx.writeAndFlush(new TextWebSocketFrame(payload));
    }

    final void closeNormally() {
        Channel ch = channel;
        if (ch != null && ch.isActive()) {
            ch.writeAndFlush(new CloseWebSocketFrame(1000, "done"));
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        channel = ctx.channel();
        super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
            send(ctx);
        } else if (evt == ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
            ready.completeExceptionally(new IllegalStateException("handshake timed out"));
            ctx.close();
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof TextWebSocketFrame frame)) {
            // Pongs and other control frames: the protocol handler has dealt with them.
            if (msg instanceof WebSocketFrame other) {
                other.release();
            }
            return;
        }
        long latency = System.nanoTime() - sentNanos;
        boolean match;
        try {
            match = matches(frame.content());
        } finally {
            frame.release();
        }
        if (!match) {
            ready.completeExceptionally(new IllegalStateException("echo " + sequence + " did not match"));
            mismatched(ctx);
            ctx.close();
        } else if (!ready.isDone()) {
            ready.complete(null);
        } else {
            echoed(ctx, latency);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (!ready.isDone()) {
            ready.completeExceptionally(new IllegalStateException("closed before the first echo"));
        } else {
            closed();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ready.completeExceptionally(cause);
        ctx.close();
    }

    private boolean matches(ByteBuf got) {
        int n = expectedLength;
        if (got.readableBytes() != n) {
            return false;
        }
        int base = got.readerIndex();
        for (int i = 0; i < n; i++) {
            if (got.getByte(base + i) != expected[i]) {
                return false;
            }
        }
        return true;
    }

    /** Writes message number SEQ into {@code expected}; returns its length. */
    private int fill(long seq) {
        int at = prefix.length;
        System.arraycopy(prefix, 0, expected, 0, at);
        int start = at;
        long v = seq;
        do {
            expected[at++] = (byte) ('0' + (v % 10));
            v /= 10;
        } while (v > 0);
        for (int i = start, j = at - 1; i < j; i++, j--) {
            byte t = expected[i];
            expected[i] = expected[j];
            expected[j] = t;
        }
        expected[at++] = '-';
        int n = Math.max(messageBytes, at);
        for (int i = at; i < n; i++) {
            expected[i] = 'x';
        }
        expectedLength = n;
        return n;
    }
}
