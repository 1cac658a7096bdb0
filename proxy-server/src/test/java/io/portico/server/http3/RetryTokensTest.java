package io.portico.server.http3;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.portico.server.config.ByteSize;
import io.portico.server.config.Http3ListenerConfig;
import io.portico.server.config.Http3Retry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.crypto.spec.SecretKeySpec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The Retry tokens: only this process makes them, for one client address, for a short time. */
class RetryTokensTest {

    private static final InetSocketAddress CLIENT = new InetSocketAddress("192.0.2.7", 40000);
    private final SecretKeySpec key = RetryTokens.newKey();
    private final Http3Counters counters = new Http3Counters();
    private long now = 1_000_000;
    private final List<ByteBuf> buffers = new ArrayList<>();

    @AfterEach
    void release() {
        buffers.forEach(ByteBuf::release);
    }

    private ByteBuf buf(int capacity) {
        ByteBuf b = Unpooled.buffer(capacity);
        buffers.add(b);
        return b;
    }

    private static Http3ListenerConfig config(Http3Retry retry, int threshold) {
        return new Http3ListenerConfig(true, 128, Duration.ofSeconds(60), ByteSize.parse("8m"), ByteSize.parse("256k"),
                86400, Duration.ofSeconds(60), true, retry, threshold, 1000);
    }

    private RetryTokens tokens(Http3Retry retry, int threshold) {
        return new RetryTokens(() -> config(retry, threshold), counters, key, () -> now);
    }

    private ByteBuf dcid() {
        return buf(8).writeBytes(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    }

    private ByteBuf mint(RetryTokens t) {
        ByteBuf out = buf(t.maxTokenLength());
        assertThat(t.writeToken(out, dcid(), CLIENT)).isTrue();
        return out;
    }

    @Test
    void aTokenIsValidForItsAddressAndCarriesTheOriginalDcid() {
        RetryTokens t = tokens(Http3Retry.ALWAYS, 0);
        ByteBuf token = mint(t);
        int offset = t.validateToken(token.slice(), CLIENT);
        assertThat(offset).isEqualTo(RetryTokens.HEADER);
        assertThat(token.slice(offset, token.readableBytes() - offset)).isEqualTo(dcid());
        assertThat(counters.snapshot()).containsEntry("retry_sent", 1L).containsEntry("retry_token_invalid", 0L);
    }

    @Test
    void aTokenIsRefusedFromAnotherAddressAfterItExpiresTamperedOrUnderAnotherKey() {
        RetryTokens t = tokens(Http3Retry.ALWAYS, 0);
        ByteBuf token = mint(t);
        assertThat(t.validateToken(token.slice(), new InetSocketAddress("192.0.2.8", 40000))).isEqualTo(-1);
        assertThat(t.validateToken(token.slice(), new InetSocketAddress("192.0.2.7", 40001))).isEqualTo(-1);

        ByteBuf tampered = buf(token.readableBytes()).writeBytes(token, 0, token.readableBytes());
        tampered.setByte(tampered.writerIndex() - 1, 9);
        assertThat(t.validateToken(tampered, CLIENT)).isEqualTo(-1);

        RetryTokens otherProcess = new RetryTokens(() -> config(Http3Retry.ALWAYS, 0), counters, RetryTokens.newKey(),
                () -> now);
        assertThat(otherProcess.validateToken(token.slice(), CLIENT)).isEqualTo(-1);

        now += RetryTokens.LIFETIME_MILLIS + 1;
        assertThat(t.validateToken(token.slice(), CLIENT)).isEqualTo(-1);
        assertThat(t.validateToken(buf(4).writeInt(7), CLIENT)).isEqualTo(-1);
        assertThat(counters.snapshot()).containsEntry("retry_token_invalid", 6L);
    }

    @Test
    void autoSendsRetryOnlyFromTheThresholdAndNeverNever() {
        RetryTokens auto = tokens(Http3Retry.AUTO, 2);
        assertThat(auto.writeToken(buf(auto.maxTokenLength()), dcid(), CLIENT)).isFalse();
        counters.handshakeStarted();
        assertThat(auto.writeToken(buf(auto.maxTokenLength()), dcid(), CLIENT)).isFalse();
        counters.handshakeStarted();
        assertThat(auto.writeToken(buf(auto.maxTokenLength()), dcid(), CLIENT)).isTrue();
        counters.handshakeEnded();
        assertThat(auto.writeToken(buf(auto.maxTokenLength()), dcid(), CLIENT)).isFalse();

        RetryTokens never = tokens(Http3Retry.NEVER, 0);
        counters.handshakeStarted();
        assertThat(never.writeToken(buf(never.maxTokenLength()), dcid(), CLIENT)).isFalse();
        assertThat(counters.snapshot()).containsEntry("retry_sent", 1L);
    }
}
