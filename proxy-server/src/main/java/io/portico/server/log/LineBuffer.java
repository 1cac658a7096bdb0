package io.portico.server.log;

import java.util.Arrays;

/** A growable byte array the writer thread formats lines into, reused for every batch. */
final class LineBuffer {

    private byte[] bytes;
    private int length;

    LineBuffer(int initialCapacity) {
        bytes = new byte[initialCapacity];
    }

    void append(byte b) {
        if (length == bytes.length) {
            bytes = Arrays.copyOf(bytes, bytes.length * 2);
        }
        bytes[length++] = b;
    }

    /** Appends text already known to be printable ASCII. */
    void appendAscii(String text) {
        for (int i = 0; i < text.length(); i++) {
            append((byte) text.charAt(i));
        }
    }

    void append(byte[] source) {
        ensure(source.length);
        System.arraycopy(source, 0, bytes, length, source.length);
        length += source.length;
    }

    void append(long value) {
        if (value < 0) {
            append((byte) '-');
            if (value == Long.MIN_VALUE) {
                appendAscii("9223372036854775808");
                return;
            }
            value = -value;
        }
        int start = length;
        do {
            append((byte) ('0' + value % 10));
            value /= 10;
        } while (value != 0);
        for (int i = start, j = length - 1; i < j; i++, j--) {
            byte swap = bytes[i];
            bytes[i] = bytes[j];
            bytes[j] = swap;
        }
    }

    byte[] array() {
        return bytes;
    }

    int length() {
        return length;
    }

    /** Forgets everything after {@code newLength}, e.g. a line that failed half way. */
    void truncate(int newLength) {
        length = newLength;
    }

    private void ensure(int extra) {
        if (length + extra > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + extra));
        }
    }
}
