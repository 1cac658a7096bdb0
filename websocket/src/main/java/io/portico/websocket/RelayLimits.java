package io.portico.websocket;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits and timers for one {@link WebSocketRelay}.
 *
 * @param maxFrameSize   largest frame payload accepted from either side, in bytes; a larger one
 *                       fails the connection with 1009 (FRAMES mode)
 * @param maxMessageSize largest message accepted, summed over its fragments, in bytes; with
 *                       permessage-deflate this is the compressed size (FRAMES mode)
 * @param validateUtf8   check text messages and close reasons for UTF-8 and fail with 1007
 *                       (FRAMES mode)
 * @param idleTimeout    close when a side sends nothing for this long; zero turns it off
 * @param pingInterval   ping a side that has sent nothing for this long; zero turns it off
 *                       (FRAMES mode)
 * @param pongTimeout    how long a pinged side has to answer before its connection is dropped
 * @param closeTimeout   how long a connection may take, once its close has started, to finish
 *                       the close handshake and flush before it is closed regardless
 * @param sendTimeout    how long a side may leave what the relay wrote to it unread (its channel
 *                       unwritable, no byte taken) before its connection is closed; zero turns it
 *                       off. Without it a side that never reads but keeps sending holds the relay
 *                       forever: its own traffic keeps it from being idle, and the other side,
 *                       not read while it waits, counts as alive.
 */
public record RelayLimits(int maxFrameSize, int maxMessageSize, boolean validateUtf8, Duration idleTimeout,
                          Duration pingInterval, Duration pongTimeout, Duration closeTimeout, Duration sendTimeout) {

    private static final Duration DEFAULT_PONG_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    public RelayLimits {
        if (maxFrameSize <= 0) {
            throw new IllegalArgumentException("maxFrameSize must be positive, was " + maxFrameSize);
        }
        if (maxMessageSize <= 0) {
            throw new IllegalArgumentException("maxMessageSize must be positive, was " + maxMessageSize);
        }
        requireNotNegative(idleTimeout, "idleTimeout");
        requireNotNegative(pingInterval, "pingInterval");
        requireNotNegative(pongTimeout, "pongTimeout");
        requireNotNegative(closeTimeout, "closeTimeout");
        requireNotNegative(sendTimeout, "sendTimeout");
        if (!pingInterval.isZero() && pongTimeout.isZero()) {
            throw new IllegalArgumentException("pongTimeout must be positive when pingInterval is set");
        }
        if (closeTimeout.isZero()) {
            throw new IllegalArgumentException("closeTimeout must be positive");
        }
    }

    /** The limits without a send timeout. */
    public RelayLimits(int maxFrameSize, int maxMessageSize, boolean validateUtf8, Duration idleTimeout,
                       Duration pingInterval, Duration pongTimeout, Duration closeTimeout) {
        this(maxFrameSize, maxMessageSize, validateUtf8, idleTimeout, pingInterval, pongTimeout, closeTimeout,
                Duration.ZERO);
    }

    /** The limits without an explicit close timeout, which defaults to 5 seconds, and without a send timeout. */
    public RelayLimits(int maxFrameSize, int maxMessageSize, boolean validateUtf8, Duration idleTimeout,
                       Duration pingInterval, Duration pongTimeout) {
        this(maxFrameSize, maxMessageSize, validateUtf8, idleTimeout, pingInterval, pongTimeout,
                DEFAULT_CLOSE_TIMEOUT);
    }

    /**
     * 1 MiB frames, 16 MiB messages, UTF-8 checked, no idle timeout, no pings, 10 s pong timeout, 5 s
     * close timeout, no send timeout.
     */
    public static RelayLimits defaults() {
        return new RelayLimits(1 << 20, 16 << 20, true, Duration.ZERO, Duration.ZERO, DEFAULT_PONG_TIMEOUT,
                DEFAULT_CLOSE_TIMEOUT, Duration.ZERO);
    }

    /** A copy with another {@link #closeTimeout()}. */
    public RelayLimits withCloseTimeout(Duration timeout) {
        return new RelayLimits(maxFrameSize, maxMessageSize, validateUtf8, idleTimeout, pingInterval, pongTimeout,
                timeout, sendTimeout);
    }

    /** A copy with another {@link #sendTimeout()}. */
    public RelayLimits withSendTimeout(Duration timeout) {
        return new RelayLimits(maxFrameSize, maxMessageSize, validateUtf8, idleTimeout, pingInterval, pongTimeout,
                closeTimeout, timeout);
    }

    private static void requireNotNegative(Duration value, String name) {
        Objects.requireNonNull(value, name);
        if (value.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, was " + value);
        }
    }
}
