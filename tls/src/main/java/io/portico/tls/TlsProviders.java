package io.portico.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLContext;
import java.security.NoSuchAlgorithmException;

/** Which SSL engine: OpenSSL (BoringSSL) when it loads, else the JDK. */
public final class TlsProviders {

    /** The operator's choice; {@link #AUTO} prefers OpenSSL. */
    public enum Choice { AUTO, OPENSSL, JDK }

    private TlsProviders() {
    }

    /**
     * Resolves a choice to Netty's provider. {@code OPENSSL} is Netty's finalizer-managed OpenSSL
     * engine, so contexts and engines need no explicit release.
     *
     * @throws IllegalStateException for {@link Choice#OPENSSL} when netty-tcnative cannot be loaded
     */
    public static SslProvider select(Choice choice) {
        switch (choice) {
            case OPENSSL:
                if (!OpenSsl.isAvailable()) {
                    Throwable cause = OpenSsl.unavailabilityCause();
                    throw new IllegalStateException("the OpenSSL TLS provider (netty-tcnative BoringSSL) is not available: "
                            + cause, cause);
                }
                return SslProvider.OPENSSL;
            case JDK:
                return SslProvider.JDK;
            case AUTO:
            default:
                return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
        }
    }

    /** Whether the provider is one of Netty's OpenSSL engines. */
    public static boolean isOpenSsl(SslProvider provider) {
        return provider == SslProvider.OPENSSL || provider == SslProvider.OPENSSL_REFCNT;
    }

    /** A line for the startup log, e.g. {@code openssl (BoringSSL, netty-tcnative 2.0.84.Final)}. */
    public static String describe(SslProvider provider) {
        if (isOpenSsl(provider)) {
            String tcnative = io.netty.internal.tcnative.SSL.class.getPackage().getImplementationVersion();
            return "openssl (" + OpenSsl.versionString()
                    + (tcnative == null ? "" : ", netty-tcnative " + tcnative) + ")";
        }
        String jsse;
        try {
            jsse = SSLContext.getDefault().getProvider().getName();
        } catch (NoSuchAlgorithmException e) {
            jsse = "no default SSLContext";
        }
        return "jdk (" + jsse + ", Java " + Runtime.version() + ")";
    }
}
