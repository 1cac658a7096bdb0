package io.portico.server.upstream.health;

import java.util.List;

/**
 * A snapshot of one upstream group's members.
 *
 * @param name          the group's name in the config
 * @param activeChecks  whether active health checks run for it
 * @param members       its backends, in config order
 */
public record GroupStatus(String name, boolean activeChecks, List<BackendStatus> members) {

    public GroupStatus {
        members = List.copyOf(members);
    }

    /** Members in rotation now (up or ramping). */
    public long available() {
        return members.stream()
                .filter(m -> m.state() == HealthState.UP || m.state() == HealthState.SLOW_START)
                .count();
    }
}
