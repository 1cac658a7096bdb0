package io.portico.server.config;

import java.time.Duration;

/**
 * WebSocket proxying on a route. An upgrade request to a route with {@code enabled: false} is
 * proxied as plain HTTP, without the upgrade (Upgrade is a hop-by-hop header).
 *
 * @param enabled          pass WebSocket upgrades through
 * @param mode             {@code frames} (parse and enforce the protocol; of the extensions only
 *                         permessage-deflate is offered upstream or accepted in its 101) or {@code raw}
 *                         (relay bytes, lowest cost)
 * @param maxFrameSize     a larger frame closes with 1009
 * @param maxMessageSize   a larger message (all its fragments) closes with 1009
 * @param validateUtf8     invalid UTF-8 in a text message or close reason closes with 1007
 * @param deflate          {@code frames} mode: pass the client's permessage-deflate offer on (the
 *                         default; a compressed message is counted in its compressed bytes and its
 *                         UTF-8 is not checked, as the relay does not inflate), or drop it, so that
 *                         the limits and the UTF-8 check see every message as it is
 * @param idleTimeout      no frame from a side for this long closes the socket (1001); 0s for never
 * @param pingInterval     Portico pings a side idle this long; 0s for never
 * @param pongTimeout      no pong to Portico's ping within this closes the socket
 */
public record WebSocketRouteConfig(
        @Default("true") boolean enabled,
        @Default("frames") String mode,
        @Default("16m") ByteSize maxFrameSize,
        @Default("16m") ByteSize maxMessageSize,
        @Default("true") boolean validateUtf8,
        @Default("true") boolean deflate,
        @Default("1h") Duration idleTimeout,
        @Default("0s") Duration pingInterval,
        @Default("10s") Duration pongTimeout) {

    public WebSocketRouteConfig {
        if (!mode.equals("frames") && !mode.equals("raw")) {
            throw new InvalidConfigException("mode", "must be frames or raw, got '" + mode + "'");
        }
        if (maxFrameSize.bytes() < 125 || maxFrameSize.bytes() > Integer.MAX_VALUE) {
            throw new InvalidConfigException("max_frame_size", "must be 125 bytes to 2g");
        }
        if (maxMessageSize.bytes() < maxFrameSize.bytes()) {
            throw new InvalidConfigException("max_message_size", "cannot be smaller than max_frame_size");
        }
        if (idleTimeout.isNegative() || pingInterval.isNegative() || pongTimeout.isNegative() || pongTimeout.isZero()) {
            throw new InvalidConfigException(pongTimeout.isNegative() || pongTimeout.isZero() ? "pong_timeout" : "idle_timeout",
                    "durations here cannot be negative, and pong_timeout must be positive");
        }
    }
}
