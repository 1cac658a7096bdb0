package io.portico.tls;

import io.netty.buffer.ByteBuf;

/**
 * What a ClientHello says about ECDSA, read in place (no allocation) as bit flags, so that a name
 * with both an RSA and an EC certificate can serve the EC one to every client able to verify it.
 */
final class ClientHello {

    static final int PARSED = 1;
    static final int OFFERS_TLS13 = 1 << 1;
    /** A TLS 1.2 ECDHE_ECDSA cipher suite is offered. */
    static final int ECDSA_SUITE = 1 << 2;
    static final int SIGNATURE_ALGORITHMS = 1 << 3;
    /** Any ECDSA signature scheme (in TLS 1.2 the curve is not tied to the scheme). */
    static final int ECDSA_ANY = 1 << 4;
    static final int ECDSA_P256_SHA256 = 1 << 5;
    static final int ECDSA_P384_SHA384 = 1 << 6;
    static final int ECDSA_P521_SHA512 = 1 << 7;

    private static final int EXTENSION_SIGNATURE_ALGORITHMS = 0x000d;
    private static final int EXTENSION_SUPPORTED_VERSIONS = 0x002b;

    private ClientHello() {
    }

    /**
     * Reads the flags from a ClientHello body (from {@code legacy_version} on, as Netty's
     * {@code SslClientHelloHandler} hands it over); 0 when the buffer is null or malformed.
     */
    static int flags(ByteBuf hello) {
        if (hello == null) {
            return 0;
        }
        try {
            return read(hello);
        } catch (IndexOutOfBoundsException e) {
            return 0;
        }
    }

    private static int read(ByteBuf in) {
        int offset = in.readerIndex() + 2 + 32;
        int end = in.writerIndex();
        offset += 1 + in.getUnsignedByte(offset);
        int suitesEnd = offset + 2 + in.getUnsignedShort(offset);
        int flags = PARSED;
        for (int i = offset + 2; i + 1 < suitesEnd && i + 1 < end; i += 2) {
            if (isEcdsaSuite(in.getUnsignedShort(i))) {
                flags |= ECDSA_SUITE;
            }
        }
        offset = suitesEnd;
        offset += 1 + in.getUnsignedByte(offset);
        if (offset + 2 > end) {
            return flags;
        }
        int extensionsEnd = Math.min(end, offset + 2 + in.getUnsignedShort(offset));
        offset += 2;
        while (offset + 4 <= extensionsEnd) {
            int type = in.getUnsignedShort(offset);
            int length = in.getUnsignedShort(offset + 2);
            int data = offset + 4;
            if (data + length > extensionsEnd) {
                break;
            }
            if (type == EXTENSION_SIGNATURE_ALGORITHMS && length >= 2) {
                flags |= SIGNATURE_ALGORITHMS;
                int listEnd = Math.min(data + length, data + 2 + in.getUnsignedShort(data));
                for (int i = data + 2; i + 1 < listEnd; i += 2) {
                    flags |= signatureFlag(in.getUnsignedShort(i));
                }
            } else if (type == EXTENSION_SUPPORTED_VERSIONS && length >= 1) {
                int listEnd = Math.min(data + length, data + 1 + in.getUnsignedByte(data));
                for (int i = data + 1; i + 1 < listEnd; i += 2) {
                    if (in.getUnsignedShort(i) == 0x0304) {
                        flags |= OFFERS_TLS13;
                    }
                }
            }
            offset = data + length;
        }
        return flags;
    }

    private static boolean isEcdsaSuite(int suite) {
        switch (suite) {
            case 0xC009: case 0xC00A: case 0xC023: case 0xC024: case 0xC02B: case 0xC02C:
            case 0xCCA9: case 0xC0AC: case 0xC0AD: case 0xC0AE: case 0xC0AF:
                return true;
            default:
                return false;
        }
    }

    private static int signatureFlag(int scheme) {
        switch (scheme) {
            case 0x0403:
                return ECDSA_ANY | ECDSA_P256_SHA256;
            case 0x0503:
                return ECDSA_ANY | ECDSA_P384_SHA384;
            case 0x0603:
                return ECDSA_ANY | ECDSA_P521_SHA512;
            case 0x0203: case 0x0303:
                return ECDSA_ANY;
            default:
                return 0;
        }
    }

    /** The TLS 1.3 scheme flag an EC key of this field size signs with. */
    static int schemeFor(int fieldSize) {
        if (fieldSize <= 256) {
            return ECDSA_P256_SHA256;
        }
        return fieldSize <= 384 ? ECDSA_P384_SHA384 : ECDSA_P521_SHA512;
    }

    /**
     * Whether the client can be served an EC certificate whose TLS 1.3 scheme is {@code scheme}:
     * in TLS 1.3 (when both sides have it) it must list that scheme; in TLS 1.2 it must offer an
     * ECDHE_ECDSA suite and, if it lists signature algorithms, an ECDSA one.
     */
    static boolean acceptsEcdsa(int flags, int scheme, boolean serverTls13, boolean serverTls12) {
        if ((flags & PARSED) == 0) {
            return false;
        }
        if (serverTls13 && (flags & OFFERS_TLS13) != 0) {
            return (flags & scheme) != 0;
        }
        return serverTls12 && (flags & ECDSA_SUITE) != 0
                && ((flags & SIGNATURE_ALGORITHMS) == 0 || (flags & ECDSA_ANY) != 0);
    }
}
