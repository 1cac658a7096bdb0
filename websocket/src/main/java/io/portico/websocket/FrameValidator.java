package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;

/**
 * The checks on one side's frames that need more than the frame header: RSV bits under
 * permessage-deflate, the message size across fragments, UTF-8 of text messages (incrementally,
 * fragment by fragment, through the mask) and close frame bodies.
 *
 * <p>A text message compressed with permessage-deflate (RSV1 on its first frame) is relayed
 * unchecked: its UTF-8 can only be seen after inflating, which would cost the proxy a zlib context
 * per connection and a copy of every message; the receiving endpoint checks it after inflating.
 * Uncompressed text messages on a deflate connection are still checked.
 */
final class FrameValidator {

    static final int OK = 0;
    static final int PROTOCOL_ERROR = 1002;
    static final int INVALID_PAYLOAD = 1007;
    static final int MESSAGE_TOO_BIG = 1009;

    private static final int RSV1 = 0b100;
    private static final int RSV2_RSV3 = 0b011;

    private final boolean deflate;
    private final boolean validateUtf8;
    private final long maxMessageSize;
    private final Utf8Checker utf8 = new Utf8Checker();
    private final Utf8Checker closeReason = new Utf8Checker();

    private long messageSize;
    private boolean checkingText;

    FrameValidator(RelayLimits limits, boolean deflate) {
        this.deflate = deflate;
        this.validateUtf8 = limits.validateUtf8();
        this.maxMessageSize = limits.maxMessageSize();
    }

    /**
     * {@link #OK} when a control frame may be relayed, else the close code to fail the side with.
     * The decoder has checked its opcode, length and FIN bit.
     */
    int check(WebSocketFrame frame) {
        // The decoder lets any RSV through when extensions are allowed; no extension here uses them on control frames.
        if (frame.rsv() != 0) {
            return PROTOCOL_ERROR;
        }
        return frame instanceof CloseWebSocketFrame ? checkClose(frame.content()) : OK;
    }

    /**
     * {@link #OK} when a data frame may be relayed, else the close code. Its payload is
     * {@code length} bytes of {@code frame} from {@code index}, masked with {@code mask} (the four
     * key bytes as they stand on the wire; 0 for an unmasked frame).
     */
    int checkData(boolean continuation, boolean text, boolean fin, int rsv, ByteBuf frame, int index, int length,
                  int mask) {
        int code = startData(continuation, text, fin, rsv, length);
        if (code == OK) {
            code = dataPiece(frame, index, length, mask);
        }
        return code == OK ? endData(fin) : code;
    }

    /**
     * The checks a data frame's header allows, made before any of it is relayed: RSV bits and the
     * message size with this frame's {@code length} payload bytes. {@link #OK} or the close code.
     * Its payload then goes through {@link #dataPiece} in one or more pieces, and {@link #endData}.
     */
    int startData(boolean continuation, boolean text, boolean fin, int rsv, int length) {
        if ((rsv & RSV2_RSV3) != 0 || continuation && (rsv & RSV1) != 0) {
            // Only permessage-deflate can be negotiated, and it sets RSV1 on first frames only (RFC 7692 section 6.1).
            return PROTOCOL_ERROR;
        }
        if (continuation) {
            messageSize += length;
        } else {
            messageSize = length;
            checkingText = text && validateUtf8 && (rsv & RSV1) == 0;
            if (checkingText) {
                utf8.reset();
            }
        }
        return messageSize > maxMessageSize ? MESSAGE_TOO_BIG : OK;
    }

    /**
     * The next {@code length} payload bytes of the current data frame, at {@code index} of
     * {@code buf}, masked with {@code mask} as it applies to the first of them: a piece that starts
     * at payload offset {@code n} passes the frame's key rotated left by {@code 8 * (n % 4)} bits.
     */
    int dataPiece(ByteBuf buf, int index, int length, int mask) {
        return checkingText && !utf8.update(buf, index, length, mask) ? INVALID_PAYLOAD : OK;
    }

    /** The current data frame's payload is all seen: a final frame must not leave a UTF-8 sequence open. */
    int endData(boolean fin) {
        return checkingText && fin && !utf8.isComplete() ? INVALID_PAYLOAD : OK;
    }

    private int checkClose(ByteBuf content) {
        int length = content.readableBytes();
        if (length == 0) {
            return OK;
        }
        if (length == 1 || !isSendableCloseCode(content.getUnsignedShort(content.readerIndex()))) {
            return PROTOCOL_ERROR;
        }
        if (validateUtf8 && length > 2) {
            if (!closeReason.isValid(content.slice(content.readerIndex() + 2, length - 2))) {
                return INVALID_PAYLOAD;
            }
        }
        return OK;
    }

    /**
     * Codes an endpoint may put in a close frame: the defined 1000-1003 and 1007-1014 (1004 is
     * reserved; 1005, 1006 and 1015 must never be sent), registered 3000-3999 and private
     * 4000-4999 (RFC 6455 section 7.4, IANA registry).
     */
    static boolean isSendableCloseCode(int code) {
        return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999;
    }
}
