package io.portico.websocket;

import io.netty.buffer.ByteBuf;

/**
 * Incremental UTF-8 well-formedness check (RFC 3629 table 3-7): feeds arrive fragment by
 * fragment, and an invalid sequence is reported as soon as its first wrong byte is seen, which is
 * what RFC 6455 section 8.1 asks for ("fail fast").
 */
final class Utf8Checker {

    private int pending;
    private int lower = 0x80;
    private int upper = 0xBF;
    private boolean failed;

    void reset() {
        pending = 0;
        lower = 0x80;
        upper = 0xBF;
        failed = false;
    }

    /** Feeds the readable bytes of {@code bytes} without moving its indexes; false once invalid. */
    boolean update(ByteBuf bytes) {
        return update(bytes, bytes.readerIndex(), bytes.readableBytes(), 0);
    }

    /**
     * Feeds {@code length} bytes of {@code buf} from {@code index}, each XORed with its byte of the
     * masking key {@code mask} (RFC 6455 section 5.3; the key's first byte is the most significant,
     * 0 for unmasked bytes), without moving the buffer's indexes; false once invalid. Four bytes
     * at a time while they are ASCII.
     */
    boolean update(ByteBuf buf, int index, int length, int mask) {
        if (failed) {
            return false;
        }
        int i = 0;
        for (; i + 4 <= length; i += 4) {
            int word = buf.getInt(index + i) ^ mask;
            if (pending == 0 && (word & 0x80808080) == 0) {
                continue;
            }
            if (!process((byte) (word >>> 24)) || !process((byte) (word >>> 16))
                    || !process((byte) (word >>> 8)) || !process((byte) word)) {
                return false;
            }
        }
        for (; i < length; i++) {
            if (!process((byte) (buf.getByte(index + i) ^ RelayFrameDecoder.maskByte(mask, i)))) {
                return false;
            }
        }
        return true;
    }

    /** True when everything fed so far is valid and no multi-byte sequence is left open. */
    boolean isComplete() {
        return !failed && pending == 0;
    }

    /** One-shot check of the readable bytes of {@code bytes}. */
    boolean isValid(ByteBuf bytes) {
        reset();
        return update(bytes) && isComplete();
    }

    /** One byte; false once the input is invalid. */
    private boolean process(byte value) {
        int b = value & 0xFF;
        if (pending == 0) {
            if (b < 0x80) {
                return true;
            }
            return lead(b);
        }
        if (b < lower || b > upper) {
            failed = true;
            return false;
        }
        lower = 0x80;
        upper = 0xBF;
        pending--;
        return true;
    }

    private boolean lead(int b) {
        if (b >= 0xC2 && b <= 0xDF) {
            pending = 1;
        } else if (b == 0xE0) {
            pending = 2;
            lower = 0xA0;
        } else if (b == 0xED) {
            // Excludes the UTF-16 surrogates U+D800..U+DFFF.
            pending = 2;
            upper = 0x9F;
        } else if (b >= 0xE1 && b <= 0xEF) {
            pending = 2;
        } else if (b == 0xF0) {
            pending = 3;
            lower = 0x90;
        } else if (b >= 0xF1 && b <= 0xF3) {
            pending = 3;
        } else if (b == 0xF4) {
            // Nothing above U+10FFFF.
            pending = 3;
            upper = 0x8F;
        } else {
            failed = true;
            return false;
        }
        return true;
    }
}
