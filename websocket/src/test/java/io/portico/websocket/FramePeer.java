package io.portico.websocket;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A test endpoint that speaks frames: a client (masks what it sends) or a server. It records every
 * frame it receives, answers pings and close frames like a conforming endpoint unless told not
 * to, and as a server closes TCP after answering a close.
 */
final class FramePeer extends ChannelInboundHandlerAdapter {

    /** A received frame, copied out of its buffer. */
    record Frame(String type, boolean fin, int rsv, byte[] payload) {

        int closeCode() {
            return payload.length >= 2 ? (payload[0] & 0xFF) << 8 | payload[1] & 0xFF : -1;
        }

        String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        String closeReason() {
            return payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
        }
    }

    static final Duration WAIT = Duration.ofSeconds(10);

    final boolean client;
    final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    final List<Throwable> errors = new CopyOnWriteArrayList<>();
    volatile boolean answerPings = true;
    volatile boolean answerClose = true;
    volatile Channel channel;
    private volatile boolean closeSent;

    private FramePeer(boolean client) {
        this.client = client;
    }

    static FramePeer client() {
        return new FramePeer(true);
    }

    static FramePeer server() {
        return new FramePeer(false);
    }

    /** Adds the frame codec and this peer to a fresh channel. */
    void install(Channel ch) {
        channel = ch;
        ch.pipeline().addLast(
                new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
                        .expectMaskedFrames(!client)
                        .allowMaskMismatch(false)
                        .allowExtensions(true)
                        .maxFramePayloadLength(64 << 20)
                        .closeOnProtocolViolation(false)
                        .build()),
                new WebSocket08FrameEncoder(client),
                this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        WebSocketFrame frame = (WebSocketFrame) msg;
        try {
            byte[] payload = new byte[frame.content().readableBytes()];
            frame.content().getBytes(frame.content().readerIndex(), payload);
            frames.add(new Frame(typeOf(frame), frame.isFinalFragment(), frame.rsv(), payload));
            if (frame instanceof PingWebSocketFrame && answerPings) {
                ctx.writeAndFlush(new PongWebSocketFrame(Unpooled.wrappedBuffer(payload)));
            } else if (frame instanceof CloseWebSocketFrame close) {
                onClose(ctx, close);
            }
        } finally {
            frame.release();
        }
    }

    /** Answers a close it did not start; a server then closes TCP, a client waits for the server to. */
    private void onClose(ChannelHandlerContext ctx, CloseWebSocketFrame close) {
        if (!closeSent && answerClose) {
            closeSent = true;
            int code = close.statusCode();
            CloseWebSocketFrame reply = code < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(code, "");
            ctx.writeAndFlush(reply);
        }
        if (closeSent && !client) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        errors.add(cause);
    }

    private static String typeOf(WebSocketFrame frame) {
        if (frame instanceof TextWebSocketFrame) {
            return "text";
        }
        if (frame instanceof BinaryWebSocketFrame) {
            return "binary";
        }
        if (frame instanceof ContinuationWebSocketFrame) {
            return "continuation";
        }
        if (frame instanceof PingWebSocketFrame) {
            return "ping";
        }
        if (frame instanceof PongWebSocketFrame) {
            return "pong";
        }
        return "close";
    }

    void send(WebSocketFrame frame) {
        if (frame instanceof CloseWebSocketFrame) {
            closeSent = true;
        }
        channel.writeAndFlush(frame);
    }

    void sendRaw(byte[] bytes) {
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes));
    }

    /** The next frame received, failing the test when none comes in time. */
    Frame next() throws InterruptedException {
        Frame frame = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(frame).as("a frame within %s", WAIT).isNotNull();
        return frame;
    }

    /** The next frame that is not a ping (Portico's heartbeat pings are not what a test looks at). */
    Frame nextNotPing() throws InterruptedException {
        Frame frame = next();
        while (frame.type().equals("ping")) {
            frame = next();
        }
        return frame;
    }

    /** The code of the first close frame received, skipping frames before it. */
    int awaitCloseCode() throws InterruptedException {
        Frame frame = next();
        while (!frame.type().equals("close")) {
            frame = next();
        }
        return frame.closeCode();
    }

    void awaitClosed() {
        await().atMost(WAIT).until(() -> channel.closeFuture().isDone());
    }
}
