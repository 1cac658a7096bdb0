package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;

import java.util.List;

/**
 * Reads one side's frames (RFC 6455 section 5.2) and checks them: masking as the side must
 * (clients mask, servers do not), opcodes, RSV bits, control frame rules, fragmentation order,
 * length encoding and limits, and through {@link FrameValidator} message sizes, UTF-8 and close
 * bodies.
 *
 * <p>A data frame that passes is emitted as it came, header and (still masked) payload, as bytes:
 * the peer takes it unchanged, because what a client sends is already masked as the upstream
 * needs it and what the upstream sends is unmasked as the client needs it. Reusing the client's
 * masking key toward the upstream is sound: the key was chosen by the client's WebSocket
 * implementation, not by the script whose data it masks (section 10.3). So relaying a data frame
 * costs no unmasking, re-masking or frame object; UTF-8 is checked through the mask. A frame that
 * fills at least a quarter of the buffer it was read into goes on as a retained slice of it, with
 * no copy; a smaller one is copied out, so that a stream of tiny frames queued for a slow peer
 * cannot pin whole read buffers while the output buffer counts only their few bytes. Control
 * frames, small and rare, are emitted as Netty's frame objects with their payload unmasked, for
 * the relay to look into.
 *
 * <p>A violation is thrown as a {@link CorruptedWebSocketFrameException} carrying the close code
 * (after the frames before it have been passed on), and after it, or after a close frame, every
 * byte the side sends is dropped.
 */
final class RelayFrameDecoder extends ByteToMessageDecoder {

    private static final int OPCODE_CONTINUATION = 0x0;
    private static final int OPCODE_TEXT = 0x1;
    private static final int OPCODE_BINARY = 0x2;
    private static final int OPCODE_CLOSE = 0x8;
    private static final int OPCODE_PING = 0x9;
    private static final int OPCODE_PONG = 0xA;
    private static final int MAX_CONTROL_PAYLOAD = 125;
    /** The longest header: 2 bytes, a 64-bit length and a masking key. */
    private static final int MAX_HEADER = 14;

    private final boolean expectMasked;
    private final boolean allowRsv;
    private final int maxFramePayload;
    private final Heartbeat heartbeat;
    private final FrameValidator validator;

    /** Inside a fragmented data message: only continuations (and control frames) may come. */
    private boolean fragmented;
    /** A close frame or a violation was read: nothing after it is looked at. */
    private boolean done;

    /**
     * @param fromClient      whether this side is the client (its frames must be masked) or the upstream (must not)
     * @param deflate         permessage-deflate was negotiated: RSV bits are then left to {@code validator}
     * @param maxFramePayload the largest payload one frame may carry (close 1009 above it)
     */
    RelayFrameDecoder(boolean fromClient, boolean deflate, int maxFramePayload, Heartbeat heartbeat,
                      FrameValidator validator) {
        this.expectMasked = fromClient;
        this.allowRsv = deflate;
        // A whole frame must fit in one buffer's int-sized index space.
        this.maxFramePayload = Math.min(maxFramePayload, Integer.MAX_VALUE - MAX_HEADER);
        this.heartbeat = heartbeat;
        this.validator = validator;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (heartbeat != null && msg instanceof ByteBuf) {
            heartbeat.bytesRead();
        }
        super.channelRead(ctx, msg);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int available = in.readableBytes();
        if (available < 2) {
            return;
        }
        int start = in.readerIndex();
        int b0 = in.getUnsignedByte(start);
        int b1 = in.getUnsignedByte(start + 1);
        boolean fin = (b0 & 0x80) != 0;
        int rsv = (b0 & 0x70) >> 4;
        int opcode = b0 & 0x0F;
        boolean masked = (b1 & 0x80) != 0;
        int length7 = b1 & 0x7F;
        boolean control = (opcode & 0x8) != 0;

        // What the first two bytes show is checked before waiting for more, to fail fast.
        if (masked != expectMasked) {
            throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR,
                    expectMasked ? "unmasked frame from the client" : "masked frame from the server");
        }
        if (rsv != 0 && !allowRsv) {
            throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "RSV bits set without an extension");
        }
        if (control) {
            if (!fin) {
                throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "fragmented control frame");
            }
            if (length7 > MAX_CONTROL_PAYLOAD) {
                throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "control frame over 125 bytes");
            }
            if (opcode != OPCODE_CLOSE && opcode != OPCODE_PING && opcode != OPCODE_PONG) {
                throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "reserved control opcode " + opcode);
            }
        } else if (opcode > OPCODE_BINARY) {
            throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "reserved data opcode " + opcode);
        } else if (opcode == OPCODE_CONTINUATION && !fragmented) {
            throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "continuation outside a fragmented message");
        } else if (opcode != OPCODE_CONTINUATION && fragmented) {
            throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "new message inside a fragmented one");
        }

        int lengthBytes = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
        int headerLength = 2 + lengthBytes + (masked ? 4 : 0);
        if (available < headerLength) {
            return;
        }
        long payloadLength = length7;
        if (length7 == 126) {
            payloadLength = in.getUnsignedShort(start + 2);
            if (payloadLength < 126) {
                throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "length not in its shortest form");
            }
        } else if (length7 == 127) {
            payloadLength = in.getLong(start + 2);
            // Negative (the most significant bit set) is refused here too.
            if (payloadLength < 65536) {
                throw violation(in, WebSocketCloseStatus.PROTOCOL_ERROR, "length not in its shortest form");
            }
        }
        if (payloadLength > maxFramePayload) {
            throw violation(in, WebSocketCloseStatus.MESSAGE_TOO_BIG,
                    "frame payload of " + payloadLength + " bytes over " + maxFramePayload);
        }
        if (available < headerLength + payloadLength) {
            return;
        }
        int frameLength = headerLength + (int) payloadLength;
        int mask = masked ? in.getInt(start + headerLength - 4) : 0;
        int payload = start + headerLength;

        if (control) {
            out.add(controlFrame(ctx, in, opcode, rsv, payload, (int) payloadLength, mask));
            in.skipBytes(frameLength);
            if (opcode == OPCODE_CLOSE) {
                done = true;
            }
            return;
        }
        int code = validator.checkData(opcode == OPCODE_CONTINUATION, opcode == OPCODE_TEXT, fin, rsv,
                in, payload, (int) payloadLength, mask);
        if (code != FrameValidator.OK) {
            throw violation(in, WebSocketCloseStatus.valueOf(code), "data frame refused");
        }
        fragmented = !fin;
        if (frameLength >= in.capacity() / 4) {
            out.add(in.readRetainedSlice(frameLength));
        } else {
            out.add(ByteBufUtil.readBytes(ctx.alloc(), in, frameLength));
        }
    }

    /** The byte of masking key {@code mask} (its first byte the most significant) that payload byte {@code i} is XORed with. */
    static int maskByte(int mask, int i) {
        return mask >>> (24 - 8 * (i & 3));
    }

    /** A control frame as Netty's frame object, its payload unmasked into a buffer of its own. */
    private static Object controlFrame(ChannelHandlerContext ctx, ByteBuf in, int opcode, int rsv,
                                       int index, int length, int mask) {
        ByteBuf payload = ctx.alloc().buffer(length, length);
        for (int i = 0; i < length; i++) {
            payload.writeByte(in.getByte(index + i) ^ maskByte(mask, i));
        }
        return switch (opcode) {
            case OPCODE_CLOSE -> new CloseWebSocketFrame(true, rsv, payload);
            case OPCODE_PING -> new PingWebSocketFrame(true, rsv, payload);
            default -> new PongWebSocketFrame(true, rsv, payload);
        };
    }

    /** Drops the rest of this side's input and makes the exception that reports the violation. */
    private CorruptedWebSocketFrameException violation(ByteBuf in, WebSocketCloseStatus status, String message) {
        done = true;
        in.skipBytes(in.readableBytes());
        return new CorruptedWebSocketFrameException(status, message);
    }
}
