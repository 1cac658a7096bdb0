package io.portico.server.http3;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.quic.Quic;
import io.netty.handler.codec.quic.QuicTokenHandler;
import io.portico.server.config.Http3ListenerConfig;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Address validation with Retry (RFC 9000 section 8.1.2): when the listener's {@code http3.retry}
 * says so for a new connection's first Initial, Portico answers with a Retry carrying a token, and
 * starts a handshake only for an Initial that comes back with a valid one, which a sender at a
 * spoofed address never sees. A flood of Initials then costs a stateless Retry each rather than a
 * connection and a TLS handshake.
 *
 * <p>A token is {@code version (1) | expiry (8, epoch ms) | HMAC-SHA256 (32) | original DCID}, the
 * MAC over the version, the expiry, the client's address and port and the original DCID, under a
 * key drawn at random once per process: only this process can make one, for that client address
 * only, for {@value #LIFETIME_MILLIS} ms (nginx's lifetime is 3 s; the client uses it one round
 * trip later). Netty's {@code InsecureQuicTokenHandler} signs nothing and is for tests only.
 *
 * <p>One instance per QUIC codec (one socket, one event loop): the {@link Mac} is not thread safe.
 */
final class RetryTokens implements QuicTokenHandler {

    static final long LIFETIME_MILLIS = 10_000;
    private static final byte VERSION = 1;
    private static final int MAC_LENGTH = 32;
    /** Bytes before the original DCID. */
    static final int HEADER = 1 + Long.BYTES + MAC_LENGTH;
    private static final String ALGORITHM = "HmacSHA256";
    /** The process's key: tokens stay valid across a restart of a listener's UDP side. */
    private static final SecretKeySpec KEY = newKey();

    private final Mac mac;
    private final Supplier<Http3ListenerConfig> config;
    private final Http3Counters counters;
    private final LongSupplier clock;

    /** @param config the listener's http3 settings of the moment (retry and its threshold are read per Initial) */
    RetryTokens(Supplier<Http3ListenerConfig> config, Http3Counters counters) {
        this(config, counters, KEY, System::currentTimeMillis);
    }

    RetryTokens(Supplier<Http3ListenerConfig> config, Http3Counters counters, SecretKeySpec key, LongSupplier clock) {
        this.config = config;
        this.counters = counters;
        this.clock = clock;
        try {
            mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no " + ALGORITHM, e);
        }
    }

    static SecretKeySpec newKey() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return new SecretKeySpec(key, ALGORITHM);
    }

    /** A tokenless Initial of a new connection: Retry (true, with a token in {@code out}) or accept it as it is. */
    @Override
    public boolean writeToken(ByteBuf out, ByteBuf dcid, InetSocketAddress address) {
        Http3ListenerConfig c = config.get();
        boolean retry = switch (c.retry()) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> counters.handshakesInProgress() >= c.retryThreshold();
        };
        if (!retry || address.getAddress() == null) {
            return false;
        }
        long expiry = clock.getAsLong() + LIFETIME_MILLIS;
        out.writeByte(VERSION);
        out.writeLong(expiry);
        out.writeBytes(sign(expiry, address, dcid, dcid.readerIndex(), dcid.readableBytes()));
        out.writeBytes(dcid, dcid.readerIndex(), dcid.readableBytes());
        counters.retrySent();
        return true;
    }

    /** @return where the original DCID starts in {@code token}, or -1 (the Initial is dropped) */
    @Override
    public int validateToken(ByteBuf token, InetSocketAddress address) {
        int at = token.readerIndex();
        int length = token.readableBytes();
        if (length < HEADER || length > HEADER + Quic.MAX_CONN_ID_LEN || token.getByte(at) != VERSION
                || address.getAddress() == null) {
            return invalid();
        }
        long expiry = token.getLong(at + 1);
        long left = expiry - clock.getAsLong();
        if (left < 0 || left > LIFETIME_MILLIS) {
            return invalid();
        }
        byte[] expected = sign(expiry, address, token, at + HEADER, length - HEADER);
        byte[] got = new byte[MAC_LENGTH];
        token.getBytes(at + 1 + Long.BYTES, got);
        if (!MessageDigest.isEqual(expected, got)) {
            return invalid();
        }
        return HEADER;
    }

    private int invalid() {
        counters.retryTokenInvalid();
        return -1;
    }

    @Override
    public int maxTokenLength() {
        return HEADER + Quic.MAX_CONN_ID_LEN;
    }

    private byte[] sign(long expiry, InetSocketAddress address, ByteBuf odcid, int from, int length) {
        mac.update(VERSION);
        for (int shift = 56; shift >= 0; shift -= 8) {
            mac.update((byte) (expiry >>> shift));
        }
        mac.update(address.getAddress().getAddress());
        mac.update((byte) (address.getPort() >>> 8));
        mac.update((byte) address.getPort());
        byte[] id = new byte[length];
        odcid.getBytes(from, id);
        mac.update(id);
        return mac.doFinal();
    }
}
