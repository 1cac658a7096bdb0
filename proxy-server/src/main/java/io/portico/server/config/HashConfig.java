package io.portico.server.config;

/**
 * The key and ring for {@code balance: consistent_hash}.
 *
 * @param key           {@code uri} (path and query), {@code host}, {@code host_uri}, {@code client_ip},
 *                      {@code header:NAME} or {@code cookie:NAME}
 * @param virtualNodes  points on the ring per unit of weight (ketama uses 160)
 */
public record HashConfig(
        @Default("uri") String key,
        @Default("160") int virtualNodes) {

    public HashConfig {
        if (!(key.equals("uri") || key.equals("host") || key.equals("host_uri") || key.equals("client_ip")
                || (key.startsWith("header:") && key.length() > 7)
                || (key.startsWith("cookie:") && key.length() > 7))) {
            throw new InvalidConfigException("key",
                    "must be uri, host, host_uri, client_ip, header:NAME or cookie:NAME, got '" + key + "'");
        }
        if (virtualNodes < 1 || virtualNodes > 10_000) {
            throw new InvalidConfigException("virtual_nodes", "must be 1..10000, got " + virtualNodes);
        }
    }
}
