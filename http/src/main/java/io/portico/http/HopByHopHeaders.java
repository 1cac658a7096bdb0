package io.portico.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Removes the hop-by-hop fields a proxy must not forward (RFC 9110 section 7.6.1), and tells
 * the caller which connection options the message carried.
 *
 * <p>{@code Trailer} is kept: RFC 9110 no longer lists it as hop-by-hop.
 */
public final class HopByHopHeaders {

    /** {@code Connection} named {@code close}. */
    public static final int CLOSE = 1;
    /** {@code Connection} named {@code keep-alive}. */
    public static final int KEEP_ALIVE = 2;
    /** {@code Connection} named {@code upgrade}. */
    public static final int UPGRADE = 4;
    /** {@code Connection} named something else (a field to drop with it); never returned by {@link #strip}. */
    private static final int OTHER = 8;

    // Own constants because Netty 4.2 deprecates its own for these two names.
    private static final AsciiString KEEP_ALIVE_HEADER = AsciiString.cached("keep-alive");
    private static final AsciiString PROXY_CONNECTION_HEADER = AsciiString.cached("proxy-connection");

    private static final AsciiString[] ALWAYS_REMOVED = {
        HttpHeaderNames.CONNECTION,
        KEEP_ALIVE_HEADER,
        PROXY_CONNECTION_HEADER,
        HttpHeaderNames.TE,
        HttpHeaderNames.TRANSFER_ENCODING,
        HttpHeaderNames.UPGRADE,
        HttpHeaderNames.PROXY_AUTHORIZATION,
        HttpHeaderNames.PROXY_AUTHENTICATE,
    };

    /*
     * A client that names these in Connection would have the proxy forward a body without its
     * framing, or a request without its target, which is a request-smuggling vector; no
     * legitimate sender nominates them (RFC 9110 forbids options for end-to-end fields).
     */
    private static final AsciiString[] NEVER_NOMINATED = {
        HttpHeaderNames.CONTENT_LENGTH,
        HttpHeaderNames.HOST,
    };

    private HopByHopHeaders() {
    }

    /**
     * Removes {@code Connection}, {@code Keep-Alive}, {@code Proxy-Connection}, {@code TE},
     * {@code Transfer-Encoding}, {@code Upgrade}, {@code Proxy-Authorization},
     * {@code Proxy-Authenticate}, and every field named as an option in any {@code Connection}
     * field (comma-separated, case-insensitive), except {@code Content-Length} and {@code Host}.
     *
     * <p>Because {@code Transfer-Encoding} goes, the caller re-frames the forwarded body.
     *
     * @return the connection options seen, as a bit set of {@link #CLOSE}, {@link #KEEP_ALIVE}
     *         and {@link #UPGRADE}
     */
    public static int strip(HttpHeaders headers) {
        int seen = options(headers, null);
        if ((seen & OTHER) != 0) {
            // Rare: a field named as an option goes too. A second pass collects the names.
            List<CharSequence> nominated = new ArrayList<>(2);
            options(headers, nominated);
            for (int i = 0; i < nominated.size(); i++) {
                headers.remove(nominated.get(i));
            }
        }
        for (AsciiString name : ALWAYS_REMOVED) {
            headers.remove(name);
        }
        return seen & ~OTHER;
    }

    /**
     * Whether a {@code Connection} field names an option other than {@code close} and
     * {@code keep-alive}, such as a field to be dropped with it. Reads the header without changing
     * or copying anything.
     */
    public static boolean namesOtherOptions(HttpHeaders headers) {
        return (options(headers, null) & (UPGRADE | OTHER)) != 0;
    }

    /**
     * The options of every {@code Connection} field, as a bit set of {@link #CLOSE},
     * {@link #KEEP_ALIVE}, {@link #UPGRADE} and {@link #OTHER} (any other name); each other name
     * that may be nominated is added to {@code nominated} when it is not null.
     */
    private static int options(HttpHeaders headers, List<CharSequence> nominated) {
        if (!headers.contains(HttpHeaderNames.CONNECTION)) {
            return 0;
        }
        int seen = 0;
        Iterator<? extends CharSequence> values = headers.valueCharSequenceIterator(HttpHeaderNames.CONNECTION);
        while (values.hasNext()) {
            CharSequence value = values.next();
            int length = value.length();
            int start = 0;
            while (start <= length) {
                int end = indexOfComma(value, start, length);
                int from = skipOws(value, start, end);
                int to = trimOws(value, from, end);
                if (to > from) {
                    int option = option(value, from, to);
                    seen |= option;
                    if (option == OTHER && nominated != null && !neverNominated(value, from, to)) {
                        nominated.add(value.subSequence(from, to));
                    }
                }
                start = end + 1;
            }
        }
        return seen;
    }

    private static int option(CharSequence value, int from, int to) {
        if (matches(value, from, to, HttpHeaderValues.CLOSE)) {
            return CLOSE;
        }
        if (matches(value, from, to, HttpHeaderValues.KEEP_ALIVE)) {
            return KEEP_ALIVE;
        }
        if (matches(value, from, to, HttpHeaderValues.UPGRADE)) {
            return UPGRADE;
        }
        return OTHER;
    }

    private static boolean neverNominated(CharSequence value, int from, int to) {
        for (AsciiString name : NEVER_NOMINATED) {
            if (matches(value, from, to, name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(CharSequence value, int from, int to, AsciiString token) {
        int length = to - from;
        return length == token.length() && AsciiString.regionMatches(value, true, from, token, 0, length);
    }

    private static int indexOfComma(CharSequence value, int from, int length) {
        for (int i = from; i < length; i++) {
            if (value.charAt(i) == ',') {
                return i;
            }
        }
        return length;
    }

    private static int skipOws(CharSequence value, int from, int to) {
        while (from < to && isOws(value.charAt(from))) {
            from++;
        }
        return from;
    }

    private static int trimOws(CharSequence value, int from, int to) {
        while (to > from && isOws(value.charAt(to - 1))) {
            to--;
        }
        return to;
    }

    private static boolean isOws(char c) {
        return c == ' ' || c == '\t';
    }
}
