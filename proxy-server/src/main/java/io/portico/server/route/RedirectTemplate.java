package io.portico.server.route;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;

/**
 * A redirect target with nginx-style variables, parsed once: {@code $scheme}, {@code $host} (as
 * nginx's: the host name, lower-cased, without the port), {@code $http_host} (the Host as sent,
 * port included), {@code $request_uri}, {@code $uri}, {@code $args}, and {@code $1}…{@code $9} from
 * the route's regex. A variable's name is the whole run of letters, digits and underscores after
 * the {@code $}, as in nginx ({@code $hostname} is not {@code $host} and "name"); any other name
 * stays literal text.
 */
public final class RedirectTemplate {

    private static final List<String> VARIABLES = List.of("$request_uri", "$scheme", "$host", "$http_host", "$args", "$uri");

    private final Object[] parts;

    private RedirectTemplate(Object[] parts) {
        this.parts = parts;
    }

    public static RedirectTemplate parse(String template) {
        List<Object> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c == '$') {
                if (i + 1 < template.length() && template.charAt(i + 1) >= '1' && template.charAt(i + 1) <= '9') {
                    flush(literal, parts);
                    parts.add(template.charAt(i + 1) - '0');
                    i += 2;
                    continue;
                }
                int end = i + 1;
                while (end < template.length() && nameChar(template.charAt(end))) {
                    end++;
                }
                String name = template.substring(i, end);
                if (VARIABLES.contains(name)) {
                    flush(literal, parts);
                    parts.add(name);
                    i = end;
                    continue;
                }
            }
            literal.append(c);
            i++;
        }
        flush(literal, parts);
        return new RedirectTemplate(parts.toArray());
    }

    private static boolean nameChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_';
    }

    private static void flush(StringBuilder literal, List<Object> parts) {
        if (literal.length() > 0) {
            parts.add(new StringBuilder(literal));
            literal.setLength(0);
        }
    }

    /**
     * @param host       the request's host name, normalised (lower-cased, no port), or null
     * @param httpHost   the Host (or {@code :authority}) as sent, or null
     * @param requestUri path and query as received
     * @param groups     the route's regex match, or null
     */
    public String expand(String scheme, String host, String httpHost, String requestUri, Matcher groups) {
        int q = requestUri.indexOf('?');
        StringBuilder out = new StringBuilder(64);
        for (Object p : parts) {
            if (p instanceof Integer g) {
                if (groups != null && g <= groups.groupCount() && groups.group(g) != null) {
                    out.append(groups.group(g));
                }
            } else if (p instanceof String v) {
                switch (v) {
                    case "$scheme" -> out.append(scheme);
                    case "$host" -> out.append(host == null ? "" : host);
                    case "$http_host" -> out.append(httpHost == null ? "" : httpHost);
                    case "$request_uri" -> out.append(requestUri);
                    case "$uri" -> out.append(q < 0 ? requestUri : requestUri.substring(0, q));
                    case "$args" -> out.append(q < 0 ? "" : requestUri.substring(q + 1));
                    default -> out.append(v);
                }
            } else {
                out.append((CharSequence) p);
            }
        }
        return out.toString();
    }
}
