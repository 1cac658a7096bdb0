package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.DefaultByteBufHolder;
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
 * costs no unmasking, re-masking or frame object; UTF-8 is checked through the mask. Bytes that
 * fill at least a quarter of the buffer they were read into go on as a retained slice of it, with
 * no copy; fewer are copied out, so that a stream of tiny frames (or pieces) queued for a slow
 * peer cannot pin whole read buffers while the output buffer counts only their few bytes. Control
 * frames, small and rare, are emitted as Netty's frame objects with their payload unmasked, for
 * the relay to look into.
 *
 * <p>A data frame whose payload is over {@link #STREAM_THRESHOLD} and that is not yet whole in the
 * buffer is streamed: once its header has passed every check a header allows (including the frame
 * and message size limits), the header and then its payload are emitted as {@link Piece}s as the
 * bytes arrive, each piece's UTF-8 checked before it goes (through the mask, in the phase of the
 * key at the piece's offset in the payload), and the end of a final text frame checked with its
 * last piece. Waiting for such a frame whole would hold up to {@code max_frame_size} per direction
 * (re-copied as the read buffer grows) and delay it until its slowest byte came; streamed, what is
 * held is about one read, and the peer's writability paces the sender as it does whole frames.
 * Smaller frames, and larger ones already whole in the buffer, stay one message: that is the
 * common case, and a frame of at most 64 KiB, about what one read brings (Netty's adaptive receive
 * buffer stops growing there) and the default write high-water mark, costs no more to buffer than
 * the relay lets queue anyway, while pieces would cost a message, a slice or copy, and a write
 * each. A control frame cannot come inside a streamed frame's payload (its bytes would be payload),
 * only between frames, as ever.
 *
 * <p>A violation is thrown as a {@link CorruptedWebSocketFrameException} carrying the close code
 * (after the frames, or pieces, before it have been passed on), and after it, or after a close
 * frame, every byte the side sends is dropped. Only invalid UTF-8 can be found inside a streamed
 * frame, after some of it was relayed; what the relay then does about the peer's half-received
 * frame is {@link FrameSide}'s business.
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
    /** The largest payload a data frame may have and still be always relayed whole (see the class comment). */
    static final int STREAM_THRESHOLD = 64 << 10;

    private final boolean expectMasked;
    private final boolean allowRsv;
    private final int maxFramePayload;
    private final Heartbeat heartbeat;
    private final FrameValidator validator;

    /** Inside a fragmented data message: only continuations (and control frames) may come. */
    private boolean fragmented;
    /** A close frame or a violation was read: nothing after it is looked at. */
    private boolean done;
    /** Payload bytes of the frame being streamed still to come; 0 when none is. */
    private long streamRemaining;
    /** Payload bytes of the frame being streamed already passed: the key's phase for the next piece. */
    private int streamOffset;
    private int streamMask;
    private boolean streamFin;

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
        if (streamRemaining > 0) {
            relayPiece(ctx, in, out, 0);
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
        int mask = masked ? in.getInt(start + headerLength - 4) : 0;
        if (available < headerLength + payloadLength) {
            if (!control && payloadLength > STREAM_THRESHOLD) {
                startStream(ctx, in, out, opcode, fin, rsv, headerLength, (int) payloadLength, mask);
            }
            return;
        }
        int frameLength = headerLength + (int) payloadLength;
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
        out.add(readOut(ctx, in, frameLength));
    }

    /** Checks a data frame's header for streaming, then relays it with the payload bytes already here. */
    private void startStream(ChannelHandlerContext ctx, ByteBuf in, List<Object> out, int opcode, boolean fin,
                             int rsv, int headerLength, int payloadLength, int mask) {
        int code = validator.startData(opcode == OPCODE_CONTINUATION, opcode == OPCODE_TEXT, fin, rsv,
                payloadLength);
        if (code != FrameValidator.OK) {
            throw violation(in, WebSocketCloseStatus.valueOf(code), "data frame refused");
        }
        fragmented = !fin;
        streamRemaining = payloadLength;
        streamOffset = 0;
        streamMask = mask;
        streamFin = fin;
        relayPiece(ctx, in, out, headerLength);
    }

    /**
     * Checks and emits the streamed frame's payload bytes that are here (after {@code headerLength}
     * bytes of its header, when this is its first piece), up to its end.
     */
    private void relayPiece(ChannelHandlerContext ctx, ByteBuf in, List<Object> out, int headerLength) {
        int length = (int) Math.min(in.readableBytes() - headerLength, streamRemaining);
        // The piece's first byte is payload byte streamOffset, XORed with key byte streamOffset % 4.
        int mask = Integer.rotateLeft(streamMask, 8 * (streamOffset & 3));
        int code = validator.dataPiece(in, in.readerIndex() + headerLength, length, mask);
        streamOffset += length;
        streamRemaining -= length;
        boolean last = streamRemaining == 0;
        if (code == FrameValidator.OK && last) {
            code = validator.endData(streamFin);
        }
        if (code != FrameValidator.OK) {
            throw violation(in, WebSocketCloseStatus.valueOf(code), "streamed data frame refused");
        }
        if (headerLength + length > 0) {
            out.add(new Piece(readOut(ctx, in, headerLength + length), last));
        }
    }

    /**
     * The next {@code length} bytes of {@code in}: a retained slice when they fill at least a
     * quarter of its capacity, else a copy (see the class comment).
     */
    private static ByteBuf readOut(ChannelHandlerContext ctx, ByteBuf in, int length) {
        return length >= in.capacity() / 4
                ? in.readRetainedSlice(length)
                : ByteBufUtil.readBytes(ctx.alloc(), in, length);
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
        streamRemaining = 0;
        in.skipBytes(in.readableBytes());
        return new CorruptedWebSocketFrameException(status, message);
    }

    /**
     * Part of a streamed data frame, as it came: the first piece starts with the frame's header;
     * {@code last} marks the piece that ends the frame. Until then the peer is inside the frame,
     * and nothing else may be written to it.
     */
    static final class Piece extends DefaultByteBufHolder {

        final boolean last;

        Piece(ByteBuf bytes, boolean last) {
            super(bytes);
            this.last = last;
        }
    }
}
