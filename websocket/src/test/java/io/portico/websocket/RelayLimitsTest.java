package io.portico.websocket;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RelayLimitsTest {

    @Test
    void defaultsAreOneMiBFramesSixteenMiBMessagesUtf8CheckedAndNoTimers() {
        RelayLimits limits = RelayLimits.defaults();

        assertThat(limits.maxFrameSize()).isEqualTo(1 << 20);
        assertThat(limits.maxMessageSize()).isEqualTo(16 << 20);
        assertThat(limits.validateUtf8()).isTrue();
        assertThat(limits.idleTimeout()).isZero();
        assertThat(limits.pingInterval()).isZero();
        assertThat(limits.pongTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(limits.closeTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(limits.sendTimeout()).isZero();
        assertThat(limits.withSendTimeout(Duration.ofSeconds(60)).sendTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void refusesLimitsThatCannotWork() {
        assertThatThrownBy(() -> new RelayLimits(0, 1, true, Duration.ZERO, Duration.ZERO, Duration.ZERO))
                .hasMessageContaining("maxFrameSize");
        assertThatThrownBy(() -> new RelayLimits(1, -1, true, Duration.ZERO, Duration.ZERO, Duration.ZERO))
                .hasMessageContaining("maxMessageSize");
        assertThatThrownBy(() -> new RelayLimits(1, 1, true, Duration.ofSeconds(-1), Duration.ZERO, Duration.ZERO))
                .hasMessageContaining("idleTimeout");
        assertThatThrownBy(() -> new RelayLimits(1, 1, true, Duration.ZERO, Duration.ofSeconds(1), Duration.ZERO))
                .hasMessageContaining("pongTimeout");
        assertThatThrownBy(() -> RelayLimits.defaults().withCloseTimeout(Duration.ZERO))
                .hasMessageContaining("closeTimeout");
        assertThatThrownBy(() -> RelayLimits.defaults().withSendTimeout(Duration.ofSeconds(-1)))
                .hasMessageContaining("sendTimeout");
    }
}
