package io.portico.server.config;

/**
 * One member of an upstream group.
 *
 * @param address         host:port; a host name is resolved asynchronously and again when its TTL runs out
 * @param weight          share of requests relative to the others
 * @param maxConnections  open connections to it across all event loops, 0 for no limit
 * @param backup          only used when every non-backup member is down or full
 */
public record BackendConfig(
        HostPort address,
        @Default("1") int weight,
        @Default("0") int maxConnections,
        @Default("false") boolean backup) {

    public BackendConfig {
        if (weight < 1 || weight > 1000) {
            throw new InvalidConfigException("weight", "must be 1..1000, got " + weight);
        }
        if (maxConnections < 0) {
            throw new InvalidConfigException("max_connections", "cannot be negative (0 means no limit)");
        }
        if (address.port() == 0) {
            throw new InvalidConfigException("address", "a backend needs a port other than 0");
        }
    }
}
