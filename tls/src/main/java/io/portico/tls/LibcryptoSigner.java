package io.portico.tls;

import io.netty.handler.ssl.OpenSslPrivateKeyMethod;

import javax.net.ssl.SSLEngine;
import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.PrivateKey;
import java.security.SignatureException;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * Makes the handshake signatures of an RSA key with the system's OpenSSL 3 libcrypto instead of
 * netty-tcnative's BoringSSL, which hands them over through {@link OpenSslPrivateKeyMethod}
 * (BoringSSL's {@code SSL_PRIVATE_KEY_METHOD}).
 *
 * <p>Why: on CPUs with AVX-512 IFMA, OpenSSL 3 signs with RSA-2048 in about 270 µs and BoringSSL
 * (which has no such path) in about 700 µs, and the signature is most of a full RSA handshake:
 * with BoringSSL alone Portico spent 1.21 times nginx's CPU per full RSA handshake (BENCHMARKS.md).
 * No Java library reaches libcrypto, so a small JNI shim ({@code tls/src/main/c}) opens
 * {@code libcrypto.so.3} with dlopen; the build compiles it when gcc is there, and without the shim
 * or the library BoringSSL keeps signing. The private key is copied into libcrypto once per
 * certificate and freed when its TLS context is gone.
 */
public final class LibcryptoSigner implements OpenSslPrivateKeyMethod {

    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "portico-libcrypto-cleaner");
        t.setDaemon(true);
        return t;
    });
    private static final LongAdder SIGNATURES = new LongAdder();
    private static final String UNAVAILABLE = load();
    private static final boolean IFMA = readIfma();

    private final long key;

    private LibcryptoSigner(long key) {
        this.key = key;
    }

    /** Null when libcrypto signing can be used on this machine, else why not. */
    public static String unavailableReason() {
        return UNAVAILABLE;
    }

    /**
     * Who signs for RSA certificates.
     *
     * @param libcrypto  true: the system OpenSSL through this class; false: the TLS provider itself
     * @param reason     why, for the startup report
     */
    public record Decision(boolean libcrypto, String reason) {
    }

    /**
     * Decides who signs for RSA certificates: {@code provider} always leaves it to the TLS provider;
     * {@code libcrypto} requires this class (and fails when it cannot load); {@code auto} uses it
     * when it loads and the CPU has AVX-512 IFMA, the case it is faster in.
     *
     * @param choice  auto, libcrypto or provider ({@code tls.rsa_signer})
     * @param openSsl whether the TLS provider is OpenSSL (BoringSSL); the JDK's cannot hand signatures over
     */
    public static Decision decide(String choice, boolean openSsl) throws TlsConfigException {
        String provider = openSsl ? "BoringSSL" : "the JDK";
        switch (choice) {
            case "provider":
                return new Decision(false, provider + " (rsa_signer: provider)");
            case "libcrypto":
                if (!openSsl) {
                    throw new TlsConfigException("rsa_signer: libcrypto needs the openssl TLS provider; the JDK's is in use");
                }
                if (UNAVAILABLE != null) {
                    throw new TlsConfigException("rsa_signer: libcrypto, but the system OpenSSL cannot be used: " + UNAVAILABLE);
                }
                return new Decision(true, "system OpenSSL 3 libcrypto (rsa_signer: libcrypto)");
            default:
                if (!openSsl) {
                    return new Decision(false, provider);
                }
                if (UNAVAILABLE != null) {
                    return new Decision(false, provider + " (system OpenSSL unavailable: " + UNAVAILABLE + ")");
                }
                if (!IFMA) {
                    return new Decision(false, provider + " (no AVX-512 IFMA on this CPU, where OpenSSL would not be faster)");
                }
                return new Decision(true, "system OpenSSL 3 libcrypto (AVX-512 IFMA: about 2.5x faster RSA than BoringSSL)");
        }
    }

    /** Whether this CPU has AVX-512 IFMA, where OpenSSL 3's RSA is much faster than BoringSSL's. */
    public static boolean cpuHasIfma() {
        return IFMA;
    }

    private static boolean readIfma() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return (" " + line + " ").contains(" avx512ifma ");
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    /** Handshake signatures made through libcrypto since start (for tests and the startup report). */
    public static long signatures() {
        return SIGNATURES.sum();
    }

    /**
     * A signer for {@code key}, an RSA private key.
     *
     * @throws TlsConfigException when libcrypto is unavailable or cannot read the key
     */
    public static LibcryptoSigner forKey(PrivateKey key, String source) throws TlsConfigException {
        if (UNAVAILABLE != null) {
            throw new TlsConfigException("cannot sign with the system OpenSSL: " + UNAVAILABLE);
        }
        if (!"RSA".equals(key.getAlgorithm()) || key.getEncoded() == null) {
            throw new TlsConfigException("the system OpenSSL signs only for RSA keys; " + source + " has "
                    + key.getAlgorithm());
        }
        byte[] der = key.getEncoded();
        long handle;
        try {
            handle = loadKey(der);
        } catch (SignatureException e) {
            throw new TlsConfigException("the system OpenSSL cannot use the key in " + source + ": " + e.getMessage(), e);
        } finally {
            java.util.Arrays.fill(der, (byte) 0);
        }
        LibcryptoSigner signer = new LibcryptoSigner(handle);
        CLEANER.register(signer, () -> freeKey(handle));
        return signer;
    }

    @Override
    public byte[] sign(SSLEngine engine, int signatureAlgorithm, byte[] input) throws Exception {
        int digest;
        int padding;
        // TLS SignatureScheme code points (RFC 8446 4.2.3), which Netty's SSL_SIGN_* constants carry.
        switch (signatureAlgorithm) {
            case 0x0201 -> { digest = 0; padding = 1; } // rsa_pkcs1_sha1
            case 0x0401 -> { digest = 1; padding = 1; } // rsa_pkcs1_sha256
            case 0x0501 -> { digest = 2; padding = 1; } // rsa_pkcs1_sha384
            case 0x0601 -> { digest = 3; padding = 1; } // rsa_pkcs1_sha512
            case 0x0804 -> { digest = 1; padding = 2; } // rsa_pss_rsae_sha256
            case 0x0805 -> { digest = 2; padding = 2; } // rsa_pss_rsae_sha384
            case 0x0806 -> { digest = 3; padding = 2; } // rsa_pss_rsae_sha512
            default -> throw new SignatureException("signature algorithm 0x"
                    + Integer.toHexString(signatureAlgorithm) + " is not an RSA one libcrypto signs for Portico");
        }
        byte[] signature = sign(key, digest, padding, input);
        SIGNATURES.increment();
        return signature;
    }

    @Override
    public byte[] decrypt(SSLEngine engine, byte[] input) throws Exception {
        return decrypt(key, input);
    }

    /**
     * Where the build puts the JNI shim for this machine, as a class-path resource, or null on an
     * OS or CPU it is not built for.
     */
    static String nativeResource() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64" -> "aarch_64";
            default -> null;
        };
        return os.contains("linux") && arch != null ? "/META-INF/native/libportico_libcrypto_linux_" + arch + ".so" : null;
    }

    private static String load() {
        String resource = nativeResource();
        if (resource == null) {
            return "only built for Linux x86_64 and aarch64";
        }
        String name = resource.substring(resource.lastIndexOf('/') + 1);
        try (InputStream in = LibcryptoSigner.class.getResourceAsStream(resource)) {
            if (in == null) {
                return "the JNI library " + name + " was not built (gcc missing when Portico was built)";
            }
            Path file = Files.createTempFile("portico-libcrypto", ".so");
            try {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                System.load(file.toAbsolutePath().toString());
            } finally {
                // Loaded, the library stays mapped: its file can go now, as Netty deletes its own
                // after loading. deleteOnExit left one behind for every process that did not exit
                // in order (killed, crashed), 16 KiB each in /tmp.
                Files.deleteIfExists(file);
            }
            return init();
        } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
            return "cannot load " + name + ": " + e.getMessage();
        }
    }

    private static native String init();

    private static native long loadKey(byte[] der) throws SignatureException;

    private static native void freeKey(long key);

    private static native byte[] sign(long key, int digest, int padding, byte[] input) throws SignatureException;

    private static native byte[] decrypt(long key, byte[] input) throws SignatureException;
}
