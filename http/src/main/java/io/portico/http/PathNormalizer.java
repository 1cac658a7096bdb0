package io.portico.http;

/**
 * Normalises a request path once, so that routing, access rules and (later) the cache key all see
 * the same path however the client spelled it: percent-escapes of unreserved characters are
 * decoded ({@code %61} → {@code a}), other escapes kept with upper-case hex ({@code %2f} →
 * {@code %2F}, so an encoded slash never becomes a separator), repeated slashes merged, and
 * {@code .} and {@code ..} segments resolved (RFC 3986 section 5.2.4). A dot segment carrying
 * {@code ;} parameters ({@code /..;/admin}) is invalid: servlet containers resolve it as a dot
 * segment, so matching on it would let a request past a route's rules.
 *
 * <p>The request is still forwarded with the path the client sent; only matching uses this one.
 * A path already in normal form is returned as is, without allocating.
 */
public final class PathNormalizer {

    private PathNormalizer() {
    }

    /**
     * @param path the path part of an origin-form target (no query), starting with {@code /}
     * @return the normal form, or null when the path is invalid: a bad or NUL escape, a control
     *         character, {@code ..} climbing above the root, or a dot segment with {@code ;} parameters
     */
    public static String normalize(String path) {
        if (path.isEmpty() || path.charAt(0) != '/') {
            return null;
        }
        if (isNormal(path)) {
            return path;
        }
        StringBuilder decoded = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x21 || c == 0x7f) {
                return null;
            }
            if (c != '%') {
                decoded.append(c);
                continue;
            }
            if (i + 2 >= path.length()) {
                return null;
            }
            int hi = Character.digit(path.charAt(i + 1), 16);
            int lo = Character.digit(path.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            int b = hi << 4 | lo;
            if (b == 0) {
                return null;
            }
            if (unreserved(b)) {
                decoded.append((char) b);
            } else {
                decoded.append('%').append(Character.toUpperCase(path.charAt(i + 1)))
                        .append(Character.toUpperCase(path.charAt(i + 2)));
            }
            i += 2;
        }
        return removeDotSegments(decoded);
    }

    /** No escape, no doubled slash, no dot segment, no control character: nothing to do. */
    private static boolean isNormal(String path) {
        char prev = 0;
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%' || c < 0x21 || c == 0x7f || (c == '/' && prev == '/')) {
                return false;
            }
            if (c == '.' && prev == '/') {
                int next = i + 1 < path.length() ? path.charAt(i + 1) : '/';
                int after = i + 2 < path.length() ? path.charAt(i + 2) : '/';
                if (next == '/' || next == ';' || (next == '.' && (after == '/' || after == ';'))) {
                    return false;
                }
            }
            prev = c;
        }
        return true;
    }

    private static String removeDotSegments(CharSequence in) {
        StringBuilder out = new StringBuilder(in.length());
        int i = 0;
        int n = in.length();
        while (i < n) {
            // in.charAt(i) is '/' here: read one segment.
            int start = i + 1;
            int end = start;
            while (end < n && in.charAt(end) != '/') {
                end++;
            }
            int len = end - start;
            boolean last = end >= n;
            if (dotWithParameters(in, start, end)) {
                // "..;x" is ".." to Tomcat and Jetty but a name to a strict parser: routes and ACLs
                // would see another path than the upstream does, so such a path is refused.
                return null;
            }
            if (len == 0) {
                if (last) {
                    out.append('/');
                }
            } else if (len == 1 && in.charAt(start) == '.') {
                if (last) {
                    out.append('/');
                }
            } else if (len == 2 && in.charAt(start) == '.' && in.charAt(start + 1) == '.') {
                if (out.length() == 0) {
                    return null;
                }
                out.setLength(out.lastIndexOf("/"));
                if (last) {
                    out.append('/');
                }
            } else {
                out.append('/').append(in, start, end);
            }
            i = end;
        }
        return out.length() == 0 ? "/" : out.toString();
    }

    /** A "." or ".." segment followed by ";" parameters. */
    private static boolean dotWithParameters(CharSequence in, int start, int end) {
        int dots = 0;
        while (start + dots < end && in.charAt(start + dots) == '.') {
            dots++;
        }
        return (dots == 1 || dots == 2) && start + dots < end && in.charAt(start + dots) == ';';
    }

    private static boolean unreserved(int b) {
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
                || b == '-' || b == '.' || b == '_' || b == '~';
    }
}
