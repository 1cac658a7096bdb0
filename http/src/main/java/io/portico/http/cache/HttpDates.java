package io.portico.http.cache;

import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

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

    /**
     * The stored {@code Last-Modified}, when a cache may take it for a strong validator (RFC 9110
     * section 8.8.2.2): the stored {@code Date} is at least a second later, so the representation
     * cannot have changed again within the second the date names. Otherwise {@link #INVALID}.
     */
    public static long strongLastModified(HttpHeaders stored) {
        long lastModified = parse(stored.get(HttpHeaderNames.LAST_MODIFIED));
        long date = parse(stored.get(HttpHeaderNames.DATE));
        if (lastModified == INVALID || date == INVALID || date - lastModified < 1000) {
            return INVALID;
        }
        return lastModified;
    }

    /** IMF-fixdate of {@code millis}. */
    public static String format(long millis) {
        return DateFormatter.format(new Date(millis));
    }
}
