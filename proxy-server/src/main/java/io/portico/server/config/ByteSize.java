package io.portico.server.config;

import java.util.Locale;

/** A size in bytes, written in config as {@code 512}, {@code 16k}, {@code 1m} or {@code 2g} (powers of 1024). */
public record ByteSize(long bytes) {

    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("a size cannot be negative");
        }
    }

    public static ByteSize parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                default -> unit = 1;
            }
        }
        String digits = unit == 1 ? s : s.substring(0, s.length() - 1);
        try {
            long n = Long.parseLong(digits.trim());
            if (n < 0) {
                throw new IllegalArgumentException("a size cannot be negative: '" + text + "'");
            }
            return new ByteSize(Math.multiplyExact(n, unit));
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("expected a size such as 512, 16k, 1m or 2g, got '" + text + "'");
        }
    }

    public int intBytes() {
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    @Override
    public String toString() {
        if (bytes != 0 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + "g";
        }
        if (bytes != 0 && bytes % (1L << 20) == 0) {
            return (bytes >> 20) + "m";
        }
        if (bytes != 0 && bytes % (1L << 10) == 0) {
            return (bytes >> 10) + "k";
        }
        return Long.toString(bytes);
    }
}
