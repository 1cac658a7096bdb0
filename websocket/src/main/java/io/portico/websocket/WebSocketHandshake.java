package io.portico.websocket;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;

/**
 * The RFC 6455 opening handshake as a proxy sees it: is this request an upgrade, is it a valid
 * one, and did the upstream's {@code 101} answer it.
 */
public final class WebSocketHandshake {

    /** The only protocol version this proxy speaks (RFC 6455). */
    public static final String VERSION = "13";

    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final AsciiString PERMESSAGE_DEFLATE = AsciiString.cached("permessage-deflate");
    private static final AsciiString VERSION_13 = AsciiString.cached(VERSION);
    /** The 22nd character of a 16-byte value's base64 carries 2 bits and 4 zero bits. */
    private static final String LAST_KEY_CHARS = "AQgw";

    private static final Rejection NOT_GET =
            new Rejection(HttpResponseStatus.BAD_REQUEST, "WebSocket upgrade must use GET");
    private static final Rejection OLD_HTTP =
            new Rejection(HttpResponseStatus.BAD_REQUEST, "WebSocket upgrade needs HTTP/1.1 or later");
    private static final Rejection NO_HOST =
            new Rejection(HttpResponseStatus.BAD_REQUEST, "WebSocket upgrade without Host");
    private static final Rejection NO_UPGRADE =
            new Rejection(HttpResponseStatus.BAD_REQUEST, "Upgrade does not name websocket");
    private static final Rejection NO_CONNECTION_UPGRADE =
            new Rejection(HttpResponseStatus.BAD_REQUEST, "Connection does not name upgrade");
    private static final Rejection BAD_KEY =
            new Rejection(HttpResponseStatus.BAD_REQUEST, "Sec-WebSocket-Key is not base64 of 16 bytes");
    private static final Rejection BAD_VERSION =
            new Rejection(HttpResponseStatus.UPGRADE_REQUIRED, "Sec-WebSocket-Version must be 13");

    private WebSocketHandshake() {
    }

    /**
     * Why a request is not a valid opening handshake, and the status to answer it with.
     *
     * @param status {@code 400 Bad Request}, or {@code 426 Upgrade Required} when only the
     *               version is wrong or missing
     * @param reason a short text for the response body or the log
     */
    public record Rejection(HttpResponseStatus status, String reason) {

        /**
         * Adds the header fields this rejection's response must carry: {@code
         * Sec-WebSocket-Version: 13} on a 426 (RFC 6455 section 4.4); nothing on a 400.
         */
        public void addHeadersTo(HttpHeaders headers) {
            if (status.code() == HttpResponseStatus.UPGRADE_REQUIRED.code()) {
                headers.set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, VERSION_13);
            }
        }
    }

    /**
     * True when the request asks for a WebSocket upgrade at all: an {@code Upgrade} field with the
     * token {@code websocket}, any case.
     */
    public static boolean isUpgradeRequest(HttpRequest request) {
        HttpHeaders headers = request.headers();
        // contains() first: it allocates nothing, and almost no request carries Upgrade.
        return headers.contains(HttpHeaderNames.UPGRADE)
                && headers.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /**
     * Checks an opening handshake (RFC 6455 section 4.2.1): {@code GET}, HTTP/1.1 or later, a
     * non-empty {@code Host}, {@code Connection} naming {@code upgrade}, {@code Upgrade} naming
     * {@code websocket}, exactly one {@code Sec-WebSocket-Key} that is the base64 of 16 bytes,
     * and {@code Sec-WebSocket-Version: 13}.
     *
     * @return null when valid; otherwise the answer to give. The version is checked last, so a 426
     *         means everything else was right; a missing version is answered 426 too, because a
     *         client without one speaks a pre-RFC draft and the 426 tells it what to speak.
     */
    public static Rejection validate(HttpRequest request) {
        if (!HttpMethod.GET.equals(request.method())) {
            return NOT_GET;
        }
        HttpVersion version = request.protocolVersion();
        if (version.majorVersion() < 1 || version.majorVersion() == 1 && version.minorVersion() < 1) {
            return OLD_HTTP;
        }
        HttpHeaders headers = request.headers();
        String host = headers.get(HttpHeaderNames.HOST);
        if (host == null || host.isBlank()) {
            return NO_HOST;
        }
        if (!headers.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
            return NO_UPGRADE;
        }
        if (!headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
            return NO_CONNECTION_UPGRADE;
        }
        CharSequence key = single(headers, HttpHeaderNames.SEC_WEBSOCKET_KEY);
        if (key == null || !isKey(key)) {
            return BAD_KEY;
        }
        CharSequence wsVersion = single(headers, HttpHeaderNames.SEC_WEBSOCKET_VERSION);
        if (wsVersion == null || !VERSION_13.contentEquals(AsciiString.trim(wsVersion))) {
            return BAD_VERSION;
        }
        return null;
    }

    /** {@code base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))} (RFC 6455 section 4.2.2). */
    public static String acceptFor(String key) {
        MessageDigest sha1;
        try {
            sha1 = MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform must provide SHA-1", e);
        }
        byte[] digest = sha1.digest((key.trim() + GUID).getBytes(StandardCharsets.US_ASCII));
        return Base64.getEncoder().encodeToString(digest);
    }

    /**
     * Whether an upstream's response is a correct {@code 101} for this request: status 101,
     * {@code Upgrade} naming {@code websocket}, {@code Connection} naming {@code upgrade}, and
     * {@code Sec-WebSocket-Accept} matching the request's key (RFC 6455 section 4.1).
     */
    public static boolean acceptMatches(HttpRequest request, HttpResponse response) {
        if (!switchesToWebSocket(response)) {
            return false;
        }
        HttpHeaders headers = response.headers();
        CharSequence key = single(request.headers(), HttpHeaderNames.SEC_WEBSOCKET_KEY);
        CharSequence accept = single(headers, HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
        return key != null && accept != null
                && acceptFor(key.toString()).contentEquals(AsciiString.trim(accept));
    }

    /** A 101 with {@code Upgrade: websocket} and {@code Connection: upgrade} (RFC 6455 section 4.1, points 2 and 3). */
    public static boolean switchesToWebSocket(HttpResponse response) {
        HttpHeaders headers = response.headers();
        return response.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()
                && headers.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
                && headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true);
    }

    /**
     * Whether the response's {@code Sec-WebSocket-Protocol}, if any, is one subprotocol the request
     * offered: a client must fail a connection whose server picked one it did not ask for (RFC 6455
     * section 4.1, point 6), so passing such a 101 on would open a connection only to break it.
     */
    public static boolean subprotocolAcceptable(HttpRequest request, HttpResponse response) {
        List<String> chosen = response.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
        if (chosen.isEmpty()) {
            return true;
        }
        if (chosen.size() > 1) {
            return false;
        }
        String protocol = chosen.get(0).trim();
        if (protocol.isEmpty() || protocol.indexOf(',') >= 0) {
            return false;
        }
        for (String offered : request.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL)) {
            for (String p : offered.split(",")) {
                if (p.trim().equals(protocol)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Whether the response's {@code Sec-WebSocket-Extensions} names {@code permessage-deflate}
     * (RFC 7692), which allows RSV1 on the first frame of data messages.
     */
    public static boolean deflateNegotiated(HttpResponse response) {
        List<String> selected = extensions(response.headers());
        if (selected != null) {
            for (String extension : selected) {
                if (isDeflate(extension)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Keeps only the {@code permessage-deflate} offers of the request's {@code
     * Sec-WebSocket-Extensions}, parameters and all, and drops the field when none is left (or it
     * cannot be parsed). For a relay that checks frames: it knows no other extension's use of the
     * RSV bits, opcodes or extension data, so an upstream must not be offered one.
     */
    public static void keepOnlyDeflateOffers(HttpHeaders headers) {
        if (!headers.contains(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS)) {
            return;
        }
        List<String> offers = extensions(headers);
        StringBuilder kept = new StringBuilder();
        if (offers != null) {
            for (String offer : offers) {
                if (isDeflate(offer)) {
                    kept.append(kept.isEmpty() ? "" : ", ").append(offer);
                }
            }
        }
        if (kept.isEmpty()) {
            headers.remove(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
        } else {
            headers.set(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, kept.toString());
        }
    }

    /**
     * Whether the extensions a {@code 101} selects are ones a relay that checks frames can follow:
     * none, or {@code permessage-deflate} once and only if the request offered it (a server may
     * only select offered extensions, RFC 6455 section 9.1, and RFC 7692 section 5 allows it one
     * answer to its offers).
     */
    public static boolean extensionsAcceptable(HttpRequest request, HttpResponse response) {
        if (!response.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS)) {
            return true;
        }
        List<String> selected = extensions(response.headers());
        if (selected == null || selected.size() > 1 || selected.size() == 1 && !isDeflate(selected.get(0))) {
            return false;
        }
        return selected.isEmpty() || deflateOffered(request.headers());
    }

    private static boolean deflateOffered(HttpHeaders headers) {
        List<String> offers = extensions(headers);
        if (offers != null) {
            for (String offer : offers) {
                if (isDeflate(offer)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The elements of every {@code Sec-WebSocket-Extensions} line, {@code extension *( ";" param )}
     * each, trimmed, empty ones skipped (RFC 9110 section 5.6.1); null when a quoted parameter
     * value is not closed. Quoted values may hold commas and semicolons, so quotes are tracked.
     */
    private static List<String> extensions(HttpHeaders headers) {
        List<String> elements = new ArrayList<>(2);
        // getAll, not a value iterator: offers come in order of preference, and some iterators run backwards.
        for (String value : headers.getAll(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS)) {
            int length = value.length();
            int start = 0;
            boolean quoted = false;
            for (int i = 0; i < length; i++) {
                char c = value.charAt(i);
                if (quoted) {
                    if (c == '\\') {
                        i++;
                    } else if (c == '"') {
                        quoted = false;
                    }
                } else if (c == '"') {
                    quoted = true;
                } else if (c == ',') {
                    addElement(elements, value, start, i);
                    start = i + 1;
                }
            }
            if (quoted) {
                return null;
            }
            addElement(elements, value, start, length);
        }
        return elements;
    }

    private static void addElement(List<String> elements, CharSequence value, int start, int end) {
        String element = value.subSequence(start, Math.min(end, value.length())).toString().trim();
        if (!element.isEmpty()) {
            elements.add(element);
        }
    }

    /** Whether an element's extension name, before its first parameter, is {@code permessage-deflate}. */
    private static boolean isDeflate(String element) {
        int semicolon = element.indexOf(';');
        CharSequence name = semicolon < 0 ? element : element.substring(0, semicolon);
        return PERMESSAGE_DEFLATE.contentEqualsIgnoreCase(AsciiString.trim(name));
    }

    /** The field's only value, or null when absent or repeated. */
    private static CharSequence single(HttpHeaders headers, AsciiString name) {
        Iterator<? extends CharSequence> values = headers.valueCharSequenceIterator(name);
        if (!values.hasNext()) {
            return null;
        }
        CharSequence value = values.next();
        return values.hasNext() ? null : value;
    }

    /** Exactly the canonical base64 of 16 bytes: 22 alphabet characters then {@code ==}. */
    private static boolean isKey(CharSequence raw) {
        CharSequence key = AsciiString.trim(raw);
        if (key.length() != 24 || key.charAt(22) != '=' || key.charAt(23) != '=') {
            return false;
        }
        for (int i = 0; i < 22; i++) {
            if (!isBase64(key.charAt(i))) {
                return false;
            }
        }
        return LAST_KEY_CHARS.indexOf(key.charAt(21)) >= 0;
    }

    private static boolean isBase64(char c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/';
    }
}
