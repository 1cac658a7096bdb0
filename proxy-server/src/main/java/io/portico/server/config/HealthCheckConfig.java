package io.portico.server.config;

import java.time.Duration;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Active health checks of an upstream group's members (HAProxy {@code check}, nginx Plus
 * {@code health_check}). Each member is checked every {@code interval} (plus or minus {@code jitter},
 * so checks of many members do not line up); {@code fall} failed checks in a row take it out of
 * rotation and {@code rise} passed checks in a row bring it back. Members start in rotation, as in
 * HAProxy and nginx, and the first check runs at once.
 *
 * @param enabled         off unless turned on
 * @param type            tcp (connect only) or http (a request, its status and body checked)
 * @param path            request target of the http check
 * @param host            Host header of the http check; null for the member's host:port
 * @param expectedStatus  statuses that pass, as codes and ranges: {@code 200-399} or {@code 200,204,301-302}
 * @param bodyContains    text the answer's body must contain; null for no body check
 * @param bodyMatches     regular expression that must be found in the body; null for none
 * @param interval        time between two checks of one member
 * @param jitter          random spread added or taken from each interval; null for a tenth of it
 * @param timeout         a check that has not passed by then fails
 * @param rise            passed checks in a row that bring a member back
 * @param fall            failed checks in a row that take a member out
 */
public record HealthCheckConfig(
        @Default("false") boolean enabled,
        @Default("http") HealthCheckType type,
        @Default("/") String path,
        @Nullable String host,
        @Default("200-399") String expectedStatus,
        @Nullable String bodyContains,
        @Nullable String bodyMatches,
        @Default("5s") Duration interval,
        @Nullable Duration jitter,
        @Default("2s") Duration timeout,
        @Default("2") int rise,
        @Default("3") int fall) {

    /** Bytes of body an http check reads; a longer body fails a body match past this point. */
    public static final int MAX_BODY = 64 * 1024;

    public HealthCheckConfig {
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 0x7F)) {
            throw new InvalidConfigException("path", "must start with / and contain no spaces or control characters");
        }
        if (host != null && (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || c == 0x7F))) {
            throw new InvalidConfigException("host", "must be a host name without spaces or control characters");
        }
        StatusSet.parse(expectedStatus);
        if (bodyMatches != null) {
            try {
                Pattern.compile(bodyMatches);
            } catch (PatternSyntaxException e) {
                throw new InvalidConfigException("body_matches", "not a valid regular expression: " + e.getDescription());
            }
        }
        if (interval.compareTo(Duration.ofMillis(10)) < 0) {
            throw new InvalidConfigException("interval", "must be at least 10ms");
        }
        if (jitter == null) {
            jitter = interval.dividedBy(10);
        }
        if (jitter.isNegative() || jitter.compareTo(interval) >= 0) {
            throw new InvalidConfigException("jitter", "must be at least 0s and shorter than interval (" + interval.toMillis() + "ms)");
        }
        if (timeout.isZero() || timeout.isNegative()) {
            throw new InvalidConfigException("timeout", "must be positive");
        }
        if (rise < 1) {
            throw new InvalidConfigException("rise", "must be at least 1");
        }
        if (fall < 1) {
            throw new InvalidConfigException("fall", "must be at least 1");
        }
    }

    /** The compiled {@link #bodyMatches}, or null. */
    public Pattern bodyPattern() {
        return bodyMatches == null ? null : Pattern.compile(bodyMatches);
    }

    /** The statuses that pass. */
    public StatusSet statuses() {
        return StatusSet.parse(expectedStatus);
    }

    /** A set of HTTP status codes written as codes and ranges, {@code 200,204,300-399}. */
    public static final class StatusSet {
        private final boolean[] codes = new boolean[600];

        private StatusSet() {
        }

        static StatusSet parse(String text) {
            StatusSet set = new StatusSet();
            for (String part : text.split(",")) {
                String p = part.trim();
                int dash = p.indexOf('-');
                int from;
                int to;
                try {
                    from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).trim());
                    to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1).trim());
                } catch (NumberFormatException e) {
                    throw new InvalidConfigException("expected_status",
                            "must be status codes and ranges such as 200-399 or 200,204, got '" + text + "'");
                }
                if (from < 100 || to > 599 || from > to) {
                    throw new InvalidConfigException("expected_status",
                            "codes must be 100..599 and ranges low-high, got '" + p + "'");
                }
                for (int c = from; c <= to; c++) {
                    set.codes[c] = true;
                }
            }
            return set;
        }

        /** Whether {@code code} passes. */
        public boolean contains(int code) {
            return code >= 0 && code < codes.length && codes[code];
        }
    }
}
