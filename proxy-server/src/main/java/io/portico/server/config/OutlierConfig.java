package io.portico.server.config;

import java.time.Duration;

/**
 * Passive outlier detection, as Envoy's: a member that fails {@code consecutive_connect_failures}
 * connects in a row, or answers {@code consecutive_5xx} 5xx statuses in a row, is ejected for
 * {@code base_ejection_time × 2^n}, capped at {@code max_ejection_time}, where n counts its earlier
 * ejections less one for each {@code base_ejection_time} it then stayed in rotation without one.
 * At most {@code max_ejection_percent} of the group's members are out this way at once, and always at
 * least one may be (except in a group of one), so detection never empties a group.
 *
 * @param consecutive5xx             5xx answers in a row that eject; 0 turns this off
 * @param consecutiveConnectFailures failed connects (refused, reset, timed out) in a row that eject; 0 turns this off
 * @param baseEjectionTime           the first ejection's length
 * @param maxEjectionTime            the longest an ejection can grow to
 * @param maxEjectionPercent         share of the group's members that may be ejected at once, 0..100
 */
public record OutlierConfig(
        @Key("consecutive_5xx") @Default("0") int consecutive5xx,
        @Default("0") int consecutiveConnectFailures,
        @Default("30s") Duration baseEjectionTime,
        @Default("300s") Duration maxEjectionTime,
        @Default("10") int maxEjectionPercent) {

    public OutlierConfig {
        if (consecutive5xx < 0) {
            throw new InvalidConfigException("consecutive_5xx", "cannot be negative (0 turns it off)");
        }
        if (consecutiveConnectFailures < 0) {
            throw new InvalidConfigException("consecutive_connect_failures", "cannot be negative (0 turns it off)");
        }
        if (baseEjectionTime.isZero() || baseEjectionTime.isNegative()) {
            throw new InvalidConfigException("base_ejection_time", "must be positive");
        }
        if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
            throw new InvalidConfigException("max_ejection_time", "cannot be shorter than base_ejection_time");
        }
        if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
            throw new InvalidConfigException("max_ejection_percent", "must be 0..100");
        }
    }

    /** Whether anything can eject. */
    public boolean enabled() {
        return consecutive5xx > 0 || consecutiveConnectFailures > 0;
    }
}
