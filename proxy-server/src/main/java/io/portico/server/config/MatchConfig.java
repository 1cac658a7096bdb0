package io.portico.server.config;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How a route tests the request path (query excluded): exactly one of {@code path} (exact),
 * {@code prefix} or {@code regex} (Java syntax, searched with {@code find}; groups feed {@code $1}…
 * in redirect templates).
 */
public record MatchConfig(
        @Nullable String path,
        @Nullable String prefix,
        @Nullable String regex) {

    public MatchConfig {
        int n = (path != null ? 1 : 0) + (prefix != null ? 1 : 0) + (regex != null ? 1 : 0);
        if (n != 1) {
            throw new InvalidConfigException(n == 0 ? "prefix" : "path",
                    "a match needs exactly one of path, prefix or regex");
        }
        if (path != null && !path.startsWith("/")) {
            throw new InvalidConfigException("path", "must start with /, got '" + path + "'");
        }
        if (prefix != null && !prefix.startsWith("/")) {
            throw new InvalidConfigException("prefix", "must start with /, got '" + prefix + "'");
        }
        if (regex != null) {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new InvalidConfigException("regex", "not a valid regular expression: " + e.getDescription());
            }
        }
    }

    @Override
    public String toString() {
        return path != null ? "= " + path : prefix != null ? prefix : "~ " + regex;
    }
}
