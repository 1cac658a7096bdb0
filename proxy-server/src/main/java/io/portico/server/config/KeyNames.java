package io.portico.server.config;

import java.util.Collection;
import java.util.Locale;

/** YAML key names for record components, and the hint for a key that is not known. */
final class KeyNames {

    private KeyNames() {
    }

    /** {@code reusePort} to {@code reuse_port}; a run of capitals is one word ({@code maxTTLSeconds} to {@code max_ttl_seconds}). */
    static String snakeCase(String camel) {
        StringBuilder out = new StringBuilder(camel.length() + 4);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) {
                boolean afterLower = i > 0 && !Character.isUpperCase(camel.charAt(i - 1));
                boolean endsRun = i > 0 && i + 1 < camel.length() && Character.isLowerCase(camel.charAt(i + 1))
                        && Character.isUpperCase(camel.charAt(i - 1));
                if (afterLower || endsRun) {
                    out.append('_');
                }
                out.append(Character.toLowerCase(c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /**
     * The end of an "unknown key" message: the closest known key when the unknown one looks like a
     * typo or another spelling of it, else the list of keys allowed here.
     */
    static String hint(String unknown, Collection<String> known) {
        if (known.isEmpty()) {
            return "; no keys are allowed here";
        }
        String wanted = normalize(unknown);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            String normal = normalize(candidate);
            int d = normal.equals(wanted) ? 0 : distance(wanted, normal);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        if (bestDistance <= 2 && 2 * bestDistance <= normalize(best).length()) {
            return " (did you mean '" + best + "'?)";
        }
        return "; the keys here are " + String.join(", ", known);
    }

    /** Case, underscores and dashes do not tell keys apart for a suggestion: reusePort is reuse_port. */
    private static String normalize(String key) {
        StringBuilder out = new StringBuilder(key.length());
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c != '_' && c != '-' && c != ' ') {
                out.append(c);
            }
        }
        return out.toString().toLowerCase(Locale.ROOT);
    }

    /** Edit distance counting a swap of two neighbours as one edit, the commonest typo. */
    private static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int v = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    v = Math.min(v, d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        return d[a.length()][b.length()];
    }
}
