package io.portico.http.cache;

import io.netty.handler.codec.DateFormatter;

import java.util.Date;

/** HTTP-date parsing (IMF-fixdate, RFC 850 and asctime forms, RFC 9110 section 5.6.7). */
public final class HttpDates {

    /** Returned for a date that is absent or cannot be parsed. */
    public static final long INVALID = Long.MIN_VALUE;

    private HttpDates() {
    }

    /** Milliseconds since the epoch, or {@link #INVALID}. */
    public static long parse(CharSequence text) {
        if (text == null) {
            return INVALID;
        }
        Date d = DateFormatter.parseHttpDate(text);
        return d == null ? INVALID : d.getTime();
    }

    /** IMF-fixdate of {@code millis}. */
    public static String format(long millis) {
        return DateFormatter.format(new Date(millis));
    }
}
