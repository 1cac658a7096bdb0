package io.portico.server.route;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;

/**
 * A redirect target with nginx-style variables, parsed once: {@code $scheme}, {@code $host},
 * {@code $request_uri}, {@code $uri}, {@code $args}, and {@code $1}…{@code $9} from the route's
 * regex. Anything else after a {@code $} is literal text.
 */
public final class RedirectTemplate {

    private static final String[] VARIABLES = {"$request_uri", "$scheme", "$host", "$args", "$uri"};

    private final Object[] parts;

    private RedirectTemplate(Object[] parts) {
        this.parts = parts;
    }

    public static RedirectTemplate parse(String template) {
        List<Object> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        outer:
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c == '$') {
                for (String v : VARIABLES) {
                    if (template.startsWith(v, i)) {
                        flush(literal, parts);
                        parts.add(v);
                        i += v.length();
                        continue outer;
                    }
                }
                if (i + 1 < template.length() && template.charAt(i + 1) >= '1' && template.charAt(i + 1) <= '9') {
                    flush(literal, parts);
                    parts.add(template.charAt(i + 1) - '0');
                    i += 2;
                    continue;
                }
            }
            literal.append(c);
            i++;
        }
        flush(literal, parts);
        return new RedirectTemplate(parts.toArray());
    }

    private static void flush(StringBuilder literal, List<Object> parts) {
        if (literal.length() > 0) {
            parts.add(new StringBuilder(literal));
            literal.setLength(0);
        }
    }

    /**
     * @param requestUri path and query as received
     * @param groups     the route's regex match, or null
     */
    public String expand(String scheme, String host, String requestUri, Matcher groups) {
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
                    case "$host" -> out.append(host);
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
