package io.portico.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ClientHelloTest {

    @Test
    void readsTls13OfferAndEcdsaSchemes() {
        ByteBuf hello = hello(new int[] {0x1301, 0xC02F}, new int[] {0x0804, 0x0403}, new int[] {0x0304, 0x0303});
        try {
            int flags = ClientHello.flags(hello);

            assertThat(flags & ClientHello.OFFERS_TLS13).isNotZero();
            assertThat(flags & ClientHello.ECDSA_P256_SHA256).isNotZero();
            assertThat(flags & ClientHello.ECDSA_P384_SHA384).isZero();
            assertThat(flags & ClientHello.ECDSA_SUITE).isZero();
            assertThat(ClientHello.acceptsEcdsa(flags, ClientHello.ECDSA_P256_SHA256, true, true)).isTrue();
            assertThat(ClientHello.acceptsEcdsa(flags, ClientHello.ECDSA_P384_SHA384, true, true)).isFalse();
            assertThat(ClientHello.acceptsEcdsa(flags, ClientHello.ECDSA_P256_SHA256, false, true))
                    .as("TLS 1.2 only on the server, and no ECDSA suite offered").isFalse();
        } finally {
            hello.release();
        }
    }

    @Test
    void readsTls12EcdsaSuites() {
        ByteBuf hello = hello(new int[] {0xC02B}, new int[] {0x0403}, null);
        try {
            int flags = ClientHello.flags(hello);

            assertThat(flags & ClientHello.OFFERS_TLS13).isZero();
            assertThat(ClientHello.acceptsEcdsa(flags, ClientHello.ECDSA_P384_SHA384, true, true)).isTrue();
        } finally {
            hello.release();
        }
    }

    @Test
    void givesNothingForMissingOrTruncatedHellos() {
        ByteBuf truncated = Unpooled.wrappedBuffer(new byte[] {3, 3, 1, 2, 3});
        try {
            assertThat(ClientHello.flags(null)).isZero();
            assertThat(ClientHello.flags(truncated)).isZero();
            assertThat(ClientHello.acceptsEcdsa(0, ClientHello.ECDSA_P256_SHA256, true, true)).isFalse();
        } finally {
            truncated.release();
        }
    }

    /** A ClientHello body (from legacy_version on) with the given suites, signature schemes and supported versions. */
    private static ByteBuf hello(int[] suites, int[] schemes, int[] versions) {
        ByteBuf out = Unpooled.buffer();
        out.writeShort(0x0303).writeZero(32).writeByte(0);
        out.writeShort(suites.length * 2);
        for (int suite : suites) {
            out.writeShort(suite);
        }
        out.writeByte(1).writeByte(0);
        ByteBuf extensions = Unpooled.buffer();
        extensions.writeShort(0x000d).writeShort(2 + schemes.length * 2).writeShort(schemes.length * 2);
        for (int scheme : schemes) {
            extensions.writeShort(scheme);
        }
        if (versions != null) {
            extensions.writeShort(0x002b).writeShort(1 + versions.length * 2).writeByte(versions.length * 2);
            for (int version : versions) {
                extensions.writeShort(version);
            }
        }
        out.writeShort(extensions.readableBytes()).writeBytes(extensions);
        extensions.release();
        return out;
    }
}
