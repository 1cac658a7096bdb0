package io.portico.server.config;

import java.time.Duration;

/**
 * Durations as written in config: {@code 250ms}, {@code 5s}, {@code 10m}, {@code 2h}, {@code 1d},
 * or parts run together as {@code 1m30s}. A bare number means seconds, as in nginx.
 */
final class Durations {

    private static final String EXPECTED = "expected a duration such as 250ms, 5s, 10m, 2h or 1d";

    private Durations() {
    }

    static Duration parse(String text) {
        String s = text.trim();
        if (s.startsWith("-")) {
            throw new IllegalArgumentException("a duration cannot be negative, got '" + text + "'");
        }
        if (s.isEmpty()) {
            throw new IllegalArgumentException(EXPECTED + ", got '" + text + "'");
        }
        try {
            Duration total = Duration.ZERO;
            // Parts go from the largest unit down, each once (as nginx reads 1h30m): 1m1m is a typo, not 2m.
            int lastRank = Integer.MAX_VALUE;
            int i = 0;
            while (i < s.length()) {
                int digits = i;
                while (i < s.length() && isDigit(s.charAt(i))) {
                    i++;
                }
                if (i == digits) {
                    throw new IllegalArgumentException(EXPECTED + ", got '" + text + "'");
                }
                long n = Long.parseLong(s, digits, i, 10);
                int unit = i;
                while (i < s.length() && Character.isLetter(s.charAt(i))) {
                    i++;
                }
                String unitText = s.substring(unit, i);
                int rank = rank(unitText);
                if (rank >= lastRank) {
                    throw new IllegalArgumentException(EXPECTED + ", got '" + text
                            + "' (parts go from the largest unit down, each once, as in 1h30m)");
                }
                lastRank = rank;
                total = total.plus(part(n, unitText, digits == 0 && i == s.length(), text));
                while (i < s.length() && s.charAt(i) == ' ') {
                    i++;
                }
            }
            // Timers count in nanoseconds: what does not fit a long of them (about 292 years) overflows where it is used.
            total.toNanos();
            return total;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("a duration too long to use: '" + text + "' (at most 106751d)");
        }
    }

    private static Duration part(long n, String unit, boolean whole, String text) {
        switch (unit) {
            case "ms":
                return Duration.ofMillis(n);
            case "s":
                return Duration.ofSeconds(n);
            case "m":
                return Duration.ofMinutes(n);
            case "h":
                return Duration.ofHours(n);
            case "d":
                return Duration.ofDays(n);
            case "":
                if (whole) {
                    return Duration.ofSeconds(n);
                }
                throw new IllegalArgumentException(EXPECTED + ", got '" + text + "'");
            default:
                throw new IllegalArgumentException(EXPECTED + ", got '" + text + "' (units are ms, s, m, h and d)");
        }
    }

    /** The order of units in a run-together duration, largest first; unknown units rank low (part() refuses them). */
    private static int rank(String unit) {
        return switch (unit) {
            case "d" -> 5;
            case "h" -> 4;
            case "m" -> 3;
            case "s", "" -> 2;
            case "ms" -> 1;
            default -> 0;
        };
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** {@code d} as the file would write it: {@code 0s}, {@code 250ms}, {@code 90s}, {@code 1h}. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s != 0 && s % 3600 == 0) {
            return s / 3600 + "h";
        }
        if (s != 0 && s % 60 == 0) {
            return s / 60 + "m";
        }
        return s + "s";
    }
}
