package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslHandler;
import io.portico.server.metrics.ListenerMetrics;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;

/** Counts a completed TLS handshake by protocol version and whether it resumed a session. */
final class TlsHandshakes {

    private TlsHandshakes() {
    }

    static void record(Channel ch, ListenerMetrics metrics) {
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return;
        }
        SSLEngine engine = ssl.engine();
        SSLSession session = engine.getSession();
        metrics.tlsHandshake(session.getProtocol(), resumed(engine, session, ch));
    }

    private static boolean resumed(SSLEngine engine, SSLSession session, Channel ch) {
        if (engine instanceof ReferenceCountedOpenSslEngine openSsl) {
            // On the event loop that owns the engine, right after its handshake: the pointer is live.
            return io.netty.internal.tcnative.SSL.isSessionReused(openSsl.sslPointer());
        }
        // The JDK has no "reused" flag: a resumed session was created before this connection was.
        Long accepted = ch.attr(Http1ProxyHandler.ACCEPTED_AT).get();
        return accepted != null && session.getCreationTime() < accepted;
    }
}
