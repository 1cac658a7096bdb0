package io.portico.server.http1;

import io.netty.channel.ChannelHandler;
import io.portico.server.metrics.ListenerMetrics;

import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;

/** The exchange handler of one HTTP/3 request stream, for the front end in {@code io.portico.server.http3}. */
public final class StreamExchanges {

    private StreamExchanges() {
    }

    /**
     * A handler that serves the one request of an HTTP/3 stream, with its QUIC connection's TLS
     * identity, exactly like an HTTP/1.1 request (routing, limits, cache, upstream pools, log).
     *
     * @param sniName           the server name of the connection's handshake, or null
     * @param clientSubject     the verified client certificate's subject, or null
     * @param clientFingerprint its SHA-256 fingerprint in hex, or null
     */
    public static ChannelHandler http3(ListenerContext context, String sniName, String clientSubject,
                                       String clientFingerprint) {
        return new Http1ProxyHandler(context, ListenerMetrics.HTTP_3, sniName, clientSubject, clientFingerprint);
    }

    /** A client certificate's SHA-256 fingerprint in hex, as the exchange passes it upstream. */
    public static String fingerprint(X509Certificate leaf) {
        try {
            return Http1ProxyHandler.sha256(leaf.getEncoded());
        } catch (CertificateEncodingException unreadable) {
            return null;
        }
    }
}
