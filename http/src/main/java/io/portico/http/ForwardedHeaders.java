package io.portico.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Tells an upstream who the client is: {@code X-Forwarded-For}, {@code -Proto}, {@code -Host},
 * {@code Forwarded} (RFC 7239) and {@code Via}.
 *
 * <p>What a client claims about earlier hops is believed only when the immediate peer is a
 * trusted proxy; from anyone else those headers are removed, whatever is switched on, so an
 * upstream never sees a spoofed client address.
 */
public final class ForwardedHeaders {

    /** {@code X-Forwarded-For}. */
    public static final AsciiString X_FORWARDED_FOR = AsciiString.cached("x-forwarded-for");
    /** {@code X-Forwarded-Proto}. */
    public static final AsciiString X_FORWARDED_PROTO = AsciiString.cached("x-forwarded-proto");
    /** {@code X-Forwarded-Host}. */
    public static final AsciiString X_FORWARDED_HOST = AsciiString.cached("x-forwarded-host");
    /** {@code Forwarded}. */
    public static final AsciiString FORWARDED = AsciiString.cached("forwarded");

    private static final AsciiString X_FORWARDED_PREFIX = AsciiString.cached("x-forwarded-");
    private static final String UNKNOWN = "unknown";

    /** The last Via value built, reused while callers pass the same pseudonym. */
    private static final LastValue<CharSequence, AsciiString> VIA_VALUE = new LastValue<>();
    /** The last client's address as text. */
    private static final LastValue<InetAddress, String> CLIENT_TEXT = new LastValue<>();
    /** The last {@code Forwarded} element, for the same client text, proto and host. */
    private static volatile Element lastElement = new Element(UNKNOWN, null, null, "for=unknown");

    private ForwardedHeaders() {
    }

    /**
     * Adds or extends the forwarding headers of a request going upstream.
     *
     * @param client       the immediate peer; {@code null} (no IP, e.g. a Unix socket) is sent as {@code unknown}
     * @param trusted      whether the immediate peer is a trusted proxy: if so, existing
     *                     {@code X-Forwarded-For} and {@code Forwarded} are appended to and existing
     *                     {@code X-Forwarded-Proto} and {@code -Host} kept; if not, every
     *                     {@code X-Forwarded-*} and {@code Forwarded} header is removed first
     * @param proto        {@code http} or {@code https}; {@code null} leaves it out
     * @param host         the host the client asked for; {@code null} leaves it out
     * @param xForwarded   send {@code X-Forwarded-For}, {@code -Proto} and {@code -Host}
     * @param forwarded    send {@code Forwarded}
     * @param via          append {@code 1.1 <viaPseudonym>} to {@code Via}
     */
    public static void apply(HttpHeaders headers, InetAddress client, boolean trusted, CharSequence proto,
                             CharSequence host, boolean xForwarded, boolean forwarded, boolean via,
                             CharSequence viaPseudonym) {
        if (!trusted) {
            removeClaims(headers);
        }
        if (xForwarded || forwarded) {
            // Most requests come from the client (and ask for the host) of the one before them: the
            // texts are kept from it rather than made again (about 0.3 KB of garbage per request).
            String clientText = client == null ? UNKNOWN : CLIENT_TEXT.get(client, ForwardedHeaders::clientText);
            if (xForwarded) {
                append(headers, X_FORWARDED_FOR, clientText);
                if (proto != null && !headers.contains(X_FORWARDED_PROTO)) {
                    headers.set(X_FORWARDED_PROTO, proto);
                }
                if (host != null && !headers.contains(X_FORWARDED_HOST)) {
                    headers.set(X_FORWARDED_HOST, host);
                }
            }
            if (forwarded) {
                Element element = lastElement;
                if (element.clientText != clientText || !contentEquals(element.proto, proto)
                        || !contentEquals(element.host, host)) {
                    element = new Element(clientText, proto == null ? null : proto.toString(),
                            host == null ? null : host.toString(), forwardedElement(clientText, proto, host));
                    lastElement = element;
                }
                append(headers, FORWARDED, element.value);
            }
        }
        if (via) {
            addVia(headers, viaPseudonym);
        }
    }

    /** Appends {@code 1.1 <viaPseudonym>} to {@code Via}, e.g. on a response going to the client. */
    public static void addVia(HttpHeaders headers, CharSequence viaPseudonym) {
        append(headers, HttpHeaderNames.VIA, VIA_VALUE.get(viaPseudonym, p -> new AsciiString("1.1 " + p)));
    }

    private static void removeClaims(HttpHeaders headers) {
        headers.remove(FORWARDED);
        headers.remove(X_FORWARDED_FOR);
        headers.remove(X_FORWARDED_PROTO);
        headers.remove(X_FORWARDED_HOST);
        List<CharSequence> others = null;
        Iterator<Map.Entry<CharSequence, CharSequence>> entries = headers.iteratorCharSequence();
        while (entries.hasNext()) {
            CharSequence name = entries.next().getKey();
            if (name.length() > X_FORWARDED_PREFIX.length()
                    && AsciiString.regionMatches(name, true, 0, X_FORWARDED_PREFIX, 0, X_FORWARDED_PREFIX.length())) {
                if (others == null) {
                    others = new ArrayList<>(2);
                }
                others.add(name);
            }
        }
        if (others != null) {
            for (int i = 0; i < others.size(); i++) {
                headers.remove(others.get(i));
            }
        }
    }

    /** Sets the header, or joins it to what is there as one comma-separated list. */
    private static void append(HttpHeaders headers, AsciiString name, CharSequence value) {
        if (!headers.contains(name)) {
            headers.set(name, value);
            return;
        }
        // getAll, unlike valueCharSequenceIterator, keeps the order the hops were added in.
        List<String> existing = headers.getAll(name);
        StringBuilder joined = null;
        for (int i = 0; i < existing.size(); i++) {
            String item = existing.get(i);
            if (isBlank(item)) {
                continue;
            }
            if (joined == null) {
                joined = new StringBuilder(item.length() + 2 + value.length());
            } else {
                joined.append(", ");
            }
            joined.append(item);
        }
        if (joined == null) {
            headers.set(name, value);
        } else {
            headers.set(name, joined.append(", ").append(value).toString());
        }
    }

    private static String clientText(InetAddress client) {
        if (client == null) {
            return UNKNOWN;
        }
        if (client instanceof Inet4Address) {
            return NetUtil.toAddressString(client);
        }
        byte[] bytes = client.getAddress();
        // An IPv4 client reaching a dual-stack socket is still an IPv4 client to the upstream.
        if (isIpv4Mapped(bytes)) {
            return NetUtil.bytesToIpAddress(bytes, 12, 4);
        }
        return NetUtil.bytesToIpAddress(bytes);
    }

    private static String forwardedElement(String clientText, CharSequence proto, CharSequence host) {
        StringBuilder element = new StringBuilder(64);
        element.append("for=");
        if (clientText.indexOf(':') >= 0) {
            element.append("\"[").append(clientText).append("]\"");
        } else {
            element.append(clientText);
        }
        if (proto != null) {
            appendParameter(element.append(";proto="), proto);
        }
        if (host != null) {
            appendParameter(element.append(";host="), host);
        }
        return element.toString();
    }

    /** A token as is, anything else as an RFC 9110 quoted-string. */
    private static void appendParameter(StringBuilder out, CharSequence value) {
        if (isToken(value)) {
            out.append(value);
            return;
        }
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c == '\t' || c >= 0x20 && c != 0x7F) {
                out.append(c);
            }
        }
        out.append('"');
    }

    private static boolean isToken(CharSequence value) {
        if (value.length() == 0) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            if (!isTchar(value.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isTchar(char c) {
        if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
            return true;
        }
        switch (c) {
            case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
            case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
                return true;
            default:
                return false;
        }
    }

    private static boolean isBlank(CharSequence value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c != ' ' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        if (bytes.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF;
    }

    private static boolean contentEquals(String kept, CharSequence value) {
        return kept == null ? value == null : value != null && kept.contentEquals(value);
    }

    private record Element(String clientText, String proto, String host, String value) {
    }
}
