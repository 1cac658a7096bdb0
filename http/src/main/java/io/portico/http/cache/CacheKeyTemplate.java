package io.portico.http.cache;

import io.netty.handler.codec.http.HttpHeaders;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A cache key built from a template with nginx-style variables: {@code $scheme}, {@code $host},
 * {@code $request_uri} (path and query as sent), {@code $uri} (path), {@code $args} (query),
 * {@code $is_args} ("?" when there is a query) and {@code $http_NAME} (a request header, dashes
 * written as underscores). The default, {@code $scheme://$host$request_uri}, is scheme, host,
 * path and query. Parsed once per route; {@link #expand} allocates only the key's text.
 */
public final class CacheKeyTemplate {

    /** Scheme, host, path and query. */
    public static final String DEFAULT = "$scheme://$host$request_uri";

    private static final int LITERAL = 0;
    private static final int SCHEME = 1;
    private static final int HOST = 2;
    private static final int REQUEST_URI = 3;
    private static final int URI = 4;
    private static final int ARGS = 5;
    private static final int IS_ARGS = 6;
    private static final int HEADER = 7;

    private final String text;
    private final int[] kinds;
    private final String[] values;

    private CacheKeyTemplate(String text, int[] kinds, String[] values) {
        this.text = text;
        this.kinds = kinds;
        this.values = values;
    }

    /** @throws IllegalArgumentException naming an unknown variable */
    public static CacheKeyTemplate parse(String template) {
        List<Integer> kinds = new ArrayList<>();
        List<String> values = new ArrayList<>();
        int i = 0;
        StringBuilder literal = new StringBuilder();
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c != '$') {
                literal.append(c);
                i++;
                continue;
            }
            int start = ++i;
            while (i < template.length() && (Character.isLetterOrDigit(template.charAt(i)) || template.charAt(i) == '_')) {
                i++;
            }
            String name = template.substring(start, i);
            if (literal.length() > 0) {
                kinds.add(LITERAL);
                values.add(literal.toString());
                literal.setLength(0);
            }
            switch (name) {
                case "scheme" -> kinds.add(SCHEME);
                case "host" -> kinds.add(HOST);
                case "request_uri" -> kinds.add(REQUEST_URI);
                case "uri" -> kinds.add(URI);
                case "args" -> kinds.add(ARGS);
                case "is_args" -> kinds.add(IS_ARGS);
                default -> {
                    if (name.startsWith("http_") && name.length() > 5) {
                        kinds.add(HEADER);
                        values.add(name.substring(5).replace('_', '-').toLowerCase(Locale.ROOT));
                        continue;
                    }
                    throw new IllegalArgumentException("unknown variable $" + name + " in cache key '" + template
                            + "' (known: $scheme, $host, $request_uri, $uri, $args, $is_args, $http_NAME)");
                }
            }
            values.add(null);
        }
        if (literal.length() > 0) {
            kinds.add(LITERAL);
            values.add(literal.toString());
        }
        return new CacheKeyTemplate(template, kinds.stream().mapToInt(Integer::intValue).toArray(),
                values.toArray(new String[0]));
    }

    /**
     * The key of a request.
     *
     * @param host       lower-case host without port
     * @param requestUri origin-form target, path and query
     */
    public String expand(String scheme, String host, String requestUri, HttpHeaders headers) {
        StringBuilder sb = new StringBuilder(64 + requestUri.length());
        int q = requestUri.indexOf('?');
        for (int i = 0; i < kinds.length; i++) {
            switch (kinds[i]) {
                case LITERAL -> sb.append(values[i]);
                case SCHEME -> sb.append(scheme);
                case HOST -> sb.append(host == null ? "" : host);
                case REQUEST_URI -> sb.append(requestUri);
                case URI -> sb.append(q < 0 ? requestUri : requestUri.substring(0, q));
                case ARGS -> {
                    if (q >= 0) {
                        sb.append(requestUri, q + 1, requestUri.length());
                    }
                }
                case IS_ARGS -> {
                    if (q >= 0) {
                        sb.append('?');
                    }
                }
                default -> {
                    String v = headers.get(values[i]);
                    if (v != null) {
                        sb.append(v);
                    }
                }
            }
        }
        return sb.toString();
    }

    /** The URL purge and invalidation go by: scheme, host, path and query, whatever the key template. */
    public static String url(String scheme, String host, String requestUri) {
        return scheme + "://" + (host == null ? "" : host) + requestUri;
    }

    @Override
    public String toString() {
        return text;
    }
}
