package io.portico.server.http1;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class H2cPrefaceDetectorTest {

    @Test
    void anHttp1RequestPassesUnchangedAndKeepsItsLimits() {
        EmbeddedChannel ch = new EmbeddedChannel(new H2cPrefaceDetector(),
                new HttpServerCodec(new HttpDecoderConfig().setMaxInitialLineLength(256)));
        ch.writeInbound(Unpooled.copiedBuffer("GET /" + "a".repeat(300) + " HTTP/1.1\r\nHost: a\r\n\r\n",
                StandardCharsets.US_ASCII));
        Object first = ch.readInbound();
        assertThat(first).isInstanceOf(HttpRequest.class);
        assertThat(((HttpRequest) first).decoderResult().cause()).isInstanceOf(TooLongHttpLineException.class);
        assertThat(ch.pipeline().get(H2cPrefaceDetector.class)).isNull();
        ReferenceCountUtil.release(first);
        ch.finishAndReleaseAll();
    }
}
