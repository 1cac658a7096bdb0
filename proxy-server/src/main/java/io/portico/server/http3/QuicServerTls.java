package io.portico.server.http3;

import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicSslEngine;
import io.netty.handler.ssl.ClientAuth;
import io.netty.util.AttributeKey;
import io.portico.tls.KeyMaterial;
import io.portico.tls.ServerTls;
import io.portico.tls.ServerTlsOptions;
import io.portico.tls.TlsConfigException;

import java.security.cert.X509Certificate;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The QUIC side of a listener's TLS: BoringSSL contexts (TLS 1.3, ALPN {@code h3}) built from the
 * very certificates and keys the TCP side serves, with the same SNI choice ({@link
 * ServerTls#materialFor}), the same client certificate policy and CAs. A certificate reload gives
 * the TCP side a new {@link ServerTls}; the next QUIC handshake notices and builds from it.
 */
public final class QuicServerTls {

    private static final AttributeKey<Object> CONTEXTS = AttributeKey.valueOf(QuicServerTls.class, "contexts");

    private final Supplier<ServerTls> source;
    /** The contexts built from one {@link ServerTls}; replaced whole when the source changes. */
    private volatile Built built;

    /** @param source the listener's TLS contexts of the moment (a reload may change them) */
    public QuicServerTls(Supplier<ServerTls> source) {
        this.source = source;
    }

    /**
     * Builds QUIC contexts from {@code tls} once, to find out at config time whether BoringSSL's
     * QUIC stack takes these certificates and keys.
     *
     * @throws TlsConfigException naming the certificate that cannot be used
     */
    public static void check(ServerTls tls) throws TlsConfigException {
        new Built(tls);
    }

    /**
     * A new engine for a QUIC connection, from the listener's current certificates. The connection
     * keeps the contexts it was built from: SNI moves its handshake to one of the per-certificate
     * contexts, whose native side (and the callbacks it holds) must outlive the connection even
     * when a certificate reload has replaced them for new connections.
     */
    QuicSslEngine newEngine(QuicChannel ch) {
        Built b = contexts();
        ch.attr(CONTEXTS).set(b);
        return b.sni.newEngine(ch.alloc());
    }

    private Built contexts() {
        ServerTls tls = source.get();
        Built b = built;
        if (b == null || b.from != tls) {
            try {
                b = new Built(tls);
            } catch (TlsConfigException e) {
                if (b == null) {
                    throw new IllegalStateException(e.getMessage(), e);
                }
                // The TCP side accepted these certificates; keep serving QUIC with the last good ones.
                return b;
            }
            // A benign race: two loops may build at once, either result serves.
            built = b;
        }
        return b;
    }

    /** One BoringSSL context per key material, and the SNI-selecting context in front of them. */
    private static final class Built {

        final ServerTls from;
        final Map<KeyMaterial, QuicSslContext> byMaterial = new IdentityHashMap<>();
        final QuicSslContext sni;

        Built(ServerTls tls) throws TlsConfigException {
            this.from = tls;
            ServerTlsOptions options = tls.options();
            for (KeyMaterial m : tls.materials()) {
                byMaterial.put(m, build(m, options));
            }
            QuicSslContext fallback = byMaterial.get(tls.materials().get(0));
            // The handshake starts on this context and SNI then moves it to a certificate's own: the
            // client certificate policy must be on both, BoringSSL takes it from the first.
            sni = builder(tls.materials().get(0), options).sni(name -> {
                if (name == null) {
                    return fallback;
                }
                // A name the listener rejects (unknown_sni: reject) gets no context: the handshake fails.
                KeyMaterial m = tls.materialFor(name, true);
                return m == null ? null : byMaterial.getOrDefault(m, fallback);
            }).build();
        }

        private static QuicSslContext build(KeyMaterial m, ServerTlsOptions options) throws TlsConfigException {
            try {
                return builder(m, options).build();
            } catch (RuntimeException e) {
                throw new TlsConfigException("HTTP/3 cannot use the " + m.keyType() + " certificate from " + m.source()
                        + " (QUIC's BoringSSL refused it: " + e.getMessage() + ")", e);
            }
        }

        /** The listener's policy for one certificate: ALPN h3, client certificates, session cache. */
        private static QuicSslContextBuilder builder(KeyMaterial m, ServerTlsOptions options) {
            QuicSslContextBuilder b = QuicSslContextBuilder.forServer(m.key(), null, m.chain())
                    .applicationProtocols(Http3.supportedApplicationProtocols());
            if (options.clientAuth() != ClientAuth.NONE) {
                b.clientAuth(options.clientAuth()).trustManager(options.clientCa().toArray(new X509Certificate[0]));
            }
            if (options.sessionCacheSize() > 0) {
                b.sessionCacheSize(options.sessionCacheSize());
            }
            if (options.sessionTimeout() != null && !options.sessionTimeout().isZero()) {
                b.sessionTimeout(options.sessionTimeout().toSeconds());
            }
            return b;
        }
    }
}
