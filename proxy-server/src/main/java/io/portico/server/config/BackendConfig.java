package io.portico.server.config;

/**
 * One member of an upstream group.
 *
 * @param address         host:port; a host name is resolved asynchronously and again when its TTL runs out
 * @param weight          share of requests relative to the others
 * @param maxConnections  open connections to it across all event loops, 0 for no limit
 * @param backup          only used when every non-backup member is down or full
 * @param resolve         the name stands for every address it resolves to, each a member of its own with
 *                        these settings, the set following DNS as the records' TTL runs out (nginx Plus
 *                        {@code server ... resolve}); off, the name is one member whose address is
 *                        looked up again on each new connection once the TTL has run out
 */
public record BackendConfig(
        HostPort address,
        @Default("1") int weight,
        @Default("0") int maxConnections,
        @Default("false") boolean backup,
        @Default("false") boolean resolve) {

    public BackendConfig {
        if (weight < 1 || weight > 1000) {
            throw new InvalidConfigException("weight", "must be 1..1000, got " + weight);
        }
        if (maxConnections < 0) {
            throw new InvalidConfigException("max_connections", "cannot be negative (0 means no limit)");
        }
        if (resolve && HostPort.isLiteral(address.host())) {
            throw new InvalidConfigException("resolve", "needs a host name, not the address " + address.host());
        }
        if (address.port() == 0) {
            throw new InvalidConfigException("address", "a backend needs a port other than 0");
        }
    }
}
