package io.portico.server.upstream.health;

import java.time.Duration;
import java.time.Instant;

/**
 * A snapshot of one backend of an upstream group, for the admin listener and metrics.
 *
 * @param address          host:port as configured
 * @param backup           a backup member (used only when the primaries are out or full)
 * @param state            in or out of rotation, and why
 * @param reason           why it is out, or the last failed check while it is in; empty when there is none
 * @param lastCheck        when the last active check ended; null when active checks are off or none ran yet
 * @param lastCheckPassed  whether that check passed; false when none ran
 * @param inFlight         requests being served by it now, across all event loops
 * @param openConnections  connections open to it now, across all event loops
 * @param weight           configured weight
 * @param effectiveWeight  weight now: lower than {@code weight} while slow start ramps, 0 when out
 * @param ejections        times outlier detection ejected it since start
 * @param ejectedFor       time left of the current ejection, {@link Duration#ZERO} when not ejected
 */
public record BackendStatus(
        String address,
        boolean backup,
        HealthState state,
        String reason,
        Instant lastCheck,
        boolean lastCheckPassed,
        int inFlight,
        int openConnections,
        int weight,
        double effectiveWeight,
        long ejections,
        Duration ejectedFor) {
}
