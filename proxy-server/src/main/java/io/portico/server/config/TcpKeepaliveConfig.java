package io.portico.server.config;

import java.time.Duration;

/**
 * SO_KEEPALIVE and its timers (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT); a zero timer keeps the
 * kernel's value, as nginx's {@code so_keepalive=30m::10} does.
 */
public record TcpKeepaliveConfig(
        @Default("false") boolean enabled,
        @Default("0s") Duration idle,
        @Default("0s") Duration interval,
        @Default("0") int count) {

    public TcpKeepaliveConfig {
        if (idle.isNegative() || interval.isNegative() || count < 0) {
            throw new InvalidConfigException(count < 0 ? "count" : idle.isNegative() ? "idle" : "interval",
                    "cannot be negative");
        }
    }
}
