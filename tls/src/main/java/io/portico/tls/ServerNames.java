package io.portico.tls;

import java.util.Locale;

/** Server names as SNI and certificates use them: lower case, no trailing dot, {@code *.} wildcards of one label. */
final class ServerNames {

    private ServerNames() {
    }

    static String normalise(String name) {
        String lower = name.trim().toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    static boolean isWildcard(String pattern) {
        return pattern.startsWith("*.");
    }

    /** {@code *.example.com} matches {@code a.example.com} but neither {@code example.com} nor {@code a.b.example.com}. */
    static boolean matches(String pattern, String name) {
        if (!isWildcard(pattern)) {
            return pattern.equals(name);
        }
        int dot = name.indexOf('.');
        return dot > 0 && name.regionMatches(dot + 1, pattern, 2, pattern.length() - 2)
                && name.length() - dot - 1 == pattern.length() - 2;
    }

    /** The suffix a wildcard stands on ({@code example.com} for {@code *.example.com}), or null for a name without parent. */
    static String parent(String name) {
        int dot = name.indexOf('.');
        return dot > 0 && dot < name.length() - 1 ? name.substring(dot + 1) : null;
    }

    /** Whether the string is an IPv4 or IPv6 literal, which SNI cannot carry. */
    static boolean isIpLiteral(String host) {
        return io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host);
    }
}
