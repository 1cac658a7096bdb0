package io.portico.http;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Request ids: generated for requests that arrive without one, and checked before an incoming
 * one is propagated upstream and into the access log.
 */
public final class RequestIds {

    /** The longest incoming id that is propagated. */
    public static final int MAX_LENGTH = 200;

    private static final byte[] HEX = {
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'
    };

    private RequestIds() {
    }

    /** A new random id: 32 lowercase hex digits, 128 bits from {@link ThreadLocalRandom}. */
    public static String generate() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        byte[] id = new byte[32];
        putHex(id, 0, random.nextLong());
        putHex(id, 16, random.nextLong());
        return new String(id, StandardCharsets.ISO_8859_1);
    }

    /**
     * Whether an incoming id may be propagated: 1 to {@value #MAX_LENGTH} characters, all
     * visible ASCII (0x21 to 0x7E), so it cannot split a log line or a header.
     */
    public static boolean isValid(CharSequence id) {
        if (id == null) {
            return false;
        }
        int length = id.length();
        if (length == 0 || length > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            char c = id.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                return false;
            }
        }
        return true;
    }

    private static void putHex(byte[] out, int offset, long value) {
        for (int i = 15; i >= 0; i--) {
            out[offset + i] = HEX[(int) value & 0xF];
            value >>>= 4;
        }
    }
}
