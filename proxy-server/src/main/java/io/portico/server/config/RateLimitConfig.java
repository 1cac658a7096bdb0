package io.portico.server.config;

/**
 * A token bucket per key, as nginx's {@code limit_req} with {@code burst=N nodelay} and
 * {@code limit_req_status 429}: each key may make {@code burst} requests at once and then
 * {@code rate} per second; a request over that gets 429 with {@code Retry-After}.
 *
 * @param key      what one bucket is for: {@code client_ip}, {@code header:NAME} (a missing header
 *                 shares one bucket) or {@code route} (one bucket for everyone on the route)
 * @param rate     tokens added per second (may be below 1, e.g. 0.5 for one every two seconds)
 * @param burst    bucket size; 0 means the rate rounded up (at least 1)
 * @param maxKeys  buckets kept; past that, idle ones are dropped and new keys share one overflow bucket
 */
public record RateLimitConfig(
        @Default("client_ip") String key,
        double rate,
        @Default("0") int burst,
        @Default("100000") int maxKeys) {

    public RateLimitConfig {
        if (!key.equals("client_ip") && !key.equals("route")
                && !(key.startsWith("header:") && key.length() > "header:".length())) {
            throw new InvalidConfigException("key", "must be client_ip, route or header:NAME, got '" + key + "'");
        }
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new InvalidConfigException("rate", "must be a positive number of requests per second");
        }
        if (burst < 0) {
            throw new InvalidConfigException("burst", "cannot be negative (0 means the rate)");
        }
        if (burst == 0) {
            burst = (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.ceil(rate)));
        }
        if (maxKeys < 1) {
            throw new InvalidConfigException("max_keys", "must be positive");
        }
    }
}
