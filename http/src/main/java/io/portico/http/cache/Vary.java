package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * {@code Vary} (RFC 9111 section 4.1): the request fields a response was selected on, and the
 * normalised values of those fields in a request, so requests that differ only in whitespace, case
 * of tokens or how they split a field across lines share a variant.
 */
public final class Vary {

    private Vary() {
    }

    /** The lower-case, sorted, de-duplicated field names a response varies on; {@code ["*"]} for Vary: *. */
    public static List<String> names(HttpHeaders response) {
        List<String> all = response.getAll(HttpHeaderNames.VARY);
        if (all.isEmpty()) {
            return List.of();
        }
        TreeSet<String> names = new TreeSet<>();
        for (String line : all) {
            for (String part : line.split(",")) {
                String n = part.trim().toLowerCase(Locale.ROOT);
                if (!n.isEmpty()) {
                    names.add(n);
                }
            }
        }
        if (names.contains("*")) {
            return List.of("*");
        }
        return List.copyOf(names);
    }

    /**
     * The selecting values of {@code request} for {@code names}, one string; the same for requests
     * a stored variant may answer. Null for {@code Vary: *}, which matches no request.
     */
    public static String selectingValues(List<String> names, HttpHeaders request) {
        if (names.isEmpty()) {
            return "";
        }
        if (names.size() == 1 && names.get(0).equals("*")) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        for (String name : names) {
            sb.append(name).append('=');
            List<String> values = request.getAll(name);
            if (values.isEmpty()) {
                sb.append('\u0000');
            } else {
                normalise(name, values, sb);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Lines joined with commas, whitespace around elements dropped; tokens of Accept-* lower-cased. */
    private static void normalise(String name, List<String> values, StringBuilder out) {
        boolean lower = name.startsWith("accept");
        // Accept-* values are case-insensitive tokens (language tags, codings, media types).
        boolean first = true;
        for (String line : values) {
            for (String part : line.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                if (!first) {
                    out.append(',');
                }
                first = false;
                p = p.replaceAll("\\s*;\\s*", ";");
                out.append(lower ? p.toLowerCase(Locale.ROOT) : p);
            }
        }
    }
}
