package io.portico.websocket;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Hand-built frames, for sending what a well-behaved encoder never would. */
final class WireFrames {

    static final int FIN = 0x80;
    static final int RSV1 = 0x40;
    static final int RSV2 = 0x20;
    static final int CONTINUATION = 0x0;
    static final int TEXT = 0x1;
    static final int BINARY = 0x2;
    static final int CLOSE = 0x8;
    static final int PING = 0x9;

    private static final byte[] MASK = {0x37, (byte) 0xfa, 0x21, 0x3d};

    private WireFrames() {
    }

    /**
     * A frame read off the wire: its first byte, its payload unmasked (as much of it as came), and
     * whether all of it came.
     */
    record Parsed(int firstByte, byte[] payload, boolean complete) {

        int opcode() {
            return firstByte & 0x0F;
        }

        boolean fin() {
            return (firstByte & FIN) != 0;
        }

        int closeCode() {
            return payload.length >= 2 ? (payload[0] & 0xFF) << 8 | payload[1] & 0xFF : -1;
        }

        @Override
        public String toString() {
            return "frame(opcode " + opcode() + (fin() ? ", fin" : "") + ", " + payload.length + " bytes"
                    + (complete ? "" : ", cut off") + (opcode() == CLOSE ? ", code " + closeCode() : "") + ")";
        }
    }

    /** The frames in these bytes, in order; the last one may be cut off. */
    static List<Parsed> parse(byte[] wire) {
        List<Parsed> frames = new ArrayList<>();
        int i = 0;
        while (i < wire.length) {
            int firstByte = wire[i] & 0xFF;
            int p = i + 2;
            if (p > wire.length) {
                frames.add(new Parsed(firstByte, new byte[0], false));
                break;
            }
            boolean masked = (wire[i + 1] & 0x80) != 0;
            long length = wire[i + 1] & 0x7F;
            int lengthBytes = length == 126 ? 2 : length == 127 ? 8 : 0;
            if (p + lengthBytes + (masked ? 4 : 0) > wire.length) {
                frames.add(new Parsed(firstByte, new byte[0], false));
                break;
            }
            if (lengthBytes > 0) {
                length = 0;
                for (int k = 0; k < lengthBytes; k++) {
                    length = length << 8 | wire[p++] & 0xFF;
                }
            }
            int maskAt = p;
            if (masked) {
                p += 4;
            }
            int have = (int) Math.min(length, wire.length - p);
            byte[] payload = Arrays.copyOfRange(wire, p, p + have);
            if (masked) {
                for (int k = 0; k < have; k++) {
                    payload[k] ^= wire[maskAt + (k & 3)];
                }
            }
            frames.add(new Parsed(firstByte, payload, have == length));
            i = p + have;
        }
        return frames;
    }

    /** A frame with the given first byte (FIN, RSV and opcode bits), masked or not. */
    static byte[] frame(int firstByte, byte[] payload, boolean masked) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + 14);
        out.write(firstByte);
        int maskBit = masked ? 0x80 : 0;
        if (payload.length < 126) {
            out.write(maskBit | payload.length);
        } else if (payload.length < 65536) {
            out.write(maskBit | 126);
            out.write(payload.length >>> 8);
            out.write(payload.length);
        } else {
            out.write(maskBit | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                out.write((int) ((long) payload.length >>> shift));
            }
        }
        if (masked) {
            out.writeBytes(MASK);
            for (int i = 0; i < payload.length; i++) {
                out.write(payload[i] ^ MASK[i & 3]);
            }
        } else {
            out.writeBytes(payload);
        }
        return out.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    static byte[] bytes(int... values) {
        byte[] result = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = (byte) values[i];
        }
        return result;
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A close body: the code, then the reason bytes. */
    static byte[] closeBody(int code, byte[] reason) {
        return concat(bytes(code >>> 8, code & 0xFF), reason);
    }
}
