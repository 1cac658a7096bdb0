package io.portico.server.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.portico.server.config.Http2ListenerConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class Http2CodecsTest {

    @Test
    void theServerPrefaceAnnouncesTheConfiguredSettings() {
        EmbeddedChannel ch = new EmbeddedChannel(Http2Codecs.newCodec(Http2ListenerConfig.defaults(), new Http2Counters(), true, 0));
        ByteBuf settings = ch.readOutbound();
        assertThat(settings).isNotNull();
        // type SETTINGS, 6 entries of 6 bytes: header table, push, max streams, window, frame, header list, connect
        assertThat(settings.getByte(3)).isEqualTo((byte) 0x4);
        settings.release();
        ch.finishAndReleaseAll();
    }
}
