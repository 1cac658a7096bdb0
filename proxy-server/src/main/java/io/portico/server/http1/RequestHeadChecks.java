package io.portico.server.http1;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Checks on a decoded request head that the byte-level framing check cannot make: how many
 * fields it has, and whether {@code Connection} names a field that frames or routes the message
 * (stripping such a "hop-by-hop" field would forward a body the upstream frames differently).
 */
final class RequestHeadChecks {

    /** A refused head: the status and the reason for the access log. */
    record Refusal(HttpResponseStatus status, String reason) {
    }

    private static final Refusal TOO_MANY_HEADERS =
            new Refusal(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too_many_headers");
    private static final Refusal CONNECTION_NAMES_FRAMING =
            new Refusal(HttpResponseStatus.BAD_REQUEST, "connection_names_framing_header");

    private RequestHeadChecks() {
    }

    /**
     * Whether {@code request} announces no body: no Transfer-Encoding and a Content-Length of 0 or
     * none (a request without either has no body, RFC 9112 section 6.3). The framing checks have
     * refused a malformed length before.
     */
    static boolean announcesNoBody(HttpRequest request) {
        return !request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)
                && HttpUtil.getContentLength(request, 0L) == 0;
    }

    /** @return null when the head may go on */
    static Refusal check(HttpRequest request, int maxHeaders) {
        HttpHeaders headers = request.headers();
        if (headers.size() > maxHeaders) {
            return TOO_MANY_HEADERS;
        }
        if (!headers.contains(HttpHeaderNames.CONNECTION)) {
            return null;
        }
        Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> h = it.next();
            if (HttpHeaderNames.CONNECTION.contentEqualsIgnoreCase(h.getKey()) && namesFraming(h.getValue())) {
                return CONNECTION_NAMES_FRAMING;
            }
        }
        return null;
    }

    /**
     * Removes the fields whose name has an underscore (nginx's {@code underscores_in_headers off}):
     * a backend that reads names the CGI way would take {@code X_Forwarded_For} for the
     * {@code X-Forwarded-For} Portico strips from untrusted clients. Names are scanned only until
     * the first underscore; most requests have none and allocate nothing.
     */
    static void dropUnderscoredNames(HttpHeaders headers) {
        List<CharSequence> drop = null;
        Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
        while (it.hasNext()) {
            CharSequence name = it.next().getKey();
            for (int i = 0, n = name.length(); i < n; i++) {
                if (name.charAt(i) == '_') {
                    if (drop == null) {
                        drop = new ArrayList<>(2);
                    }
                    drop.add(name);
                    break;
                }
            }
        }
        if (drop != null) {
            for (CharSequence name : drop) {
                headers.remove(name);
            }
        }
    }

    private static boolean namesFraming(CharSequence value) {
        int i = 0;
        int n = value.length();
        while (i < n) {
            while (i < n && (value.charAt(i) == ' ' || value.charAt(i) == '\t' || value.charAt(i) == ',')) {
                i++;
            }
            int start = i;
            while (i < n && value.charAt(i) != ',') {
                i++;
            }
            int end = i;
            while (end > start && (value.charAt(end - 1) == ' ' || value.charAt(end - 1) == '\t')) {
                end--;
            }
            CharSequence token = value.subSequence(start, end);
            if (HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(token)
                    || HttpHeaderNames.TRANSFER_ENCODING.contentEqualsIgnoreCase(token)
                    || HttpHeaderNames.HOST.contentEqualsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }
}
