package io.portico.server.upstream.balance;

import io.netty.util.concurrent.FastThreadLocal;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Hashes request keys onto the consistent hash ring, the way ketama (libketama, spymemcached, twemproxy)
 * does: MD5 of the key's UTF-8 bytes, and the first four digest bytes read little-endian as an unsigned
 * 32-bit number.
 *
 * <p>Each thread keeps its own {@link MessageDigest} and a small byte buffer; keys are encoded to UTF-8
 * into that buffer a chunk at a time, so hashing allocates nothing however long the key is. Unpaired
 * surrogates become {@code '?'}, as {@link String#getBytes(java.nio.charset.Charset)} does.
 */
public final class HashKeys {

    private static final FastThreadLocal<Md5> MD5 = new FastThreadLocal<>() {
        @Override
        protected Md5 initialValue() {
            return new Md5();
        }
    };

    private HashKeys() {
    }

    /** The ketama hash of {@code key}: a value in {@code [0, 2^32)}. */
    public static long hash(CharSequence key) {
        byte[] digest = MD5.get().digest(key);
        return littleEndianUnsigned(digest, 0);
    }

    /**
     * Writes MD5 of {@code text}'s UTF-8 bytes into a per-thread array and returns it; the array is
     * overwritten by the next call on this thread.
     */
    static byte[] md5(CharSequence text) {
        return MD5.get().digest(text);
    }

    /** Bytes {@code offset..offset+3} of {@code bytes} as a little-endian unsigned 32-bit number. */
    static long littleEndianUnsigned(byte[] bytes, int offset) {
        return (bytes[offset] & 0xFFL)
                | (bytes[offset + 1] & 0xFFL) << 8
                | (bytes[offset + 2] & 0xFFL) << 16
                | (bytes[offset + 3] & 0xFFL) << 24;
    }

    /** One thread's digest and buffers. */
    private static final class Md5 {
        // Room for a whole UTF-8 sequence (4 bytes) after the flush check.
        private static final int CHUNK = 256;

        private final MessageDigest md;
        private final byte[] chunk = new byte[CHUNK];
        private final byte[] out = new byte[16];

        Md5() {
            try {
                md = MessageDigest.getInstance("MD5");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every Java platform must provide MD5", e);
            }
        }

        byte[] digest(CharSequence s) {
            byte[] buf = chunk;
            int pos = 0;
            int len = s.length();
            for (int i = 0; i < len; i++) {
                if (pos > CHUNK - 4) {
                    md.update(buf, 0, pos);
                    pos = 0;
                }
                char c = s.charAt(i);
                if (c < 0x80) {
                    buf[pos++] = (byte) c;
                } else if (c < 0x800) {
                    buf[pos++] = (byte) (0xC0 | c >> 6);
                    buf[pos++] = (byte) (0x80 | c & 0x3F);
                } else if (!Character.isSurrogate(c)) {
                    buf[pos++] = (byte) (0xE0 | c >> 12);
                    buf[pos++] = (byte) (0x80 | c >> 6 & 0x3F);
                    buf[pos++] = (byte) (0x80 | c & 0x3F);
                } else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, s.charAt(++i));
                    buf[pos++] = (byte) (0xF0 | cp >> 18);
                    buf[pos++] = (byte) (0x80 | cp >> 12 & 0x3F);
                    buf[pos++] = (byte) (0x80 | cp >> 6 & 0x3F);
                    buf[pos++] = (byte) (0x80 | cp & 0x3F);
                } else {
                    buf[pos++] = '?';
                }
            }
            md.update(buf, 0, pos);
            try {
                md.digest(out, 0, out.length);
            } catch (DigestException e) {
                throw new IllegalStateException("MD5 digest is 16 bytes", e);
            }
            return out;
        }
    }
}
