package io.portico.tls;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslHandler;
import io.netty.internal.tcnative.SSL;

/**
 * Bounds TLS 1.3 sessions made by BoringSSL by the listener's session timeout. BoringSSL gives a
 * TLS 1.3 session its own lifetime ({@code SSL_CTX_set_session_psk_dhe_timeout}: 2 days, renewed by
 * each resumption up to 7 days) instead of the context's session timeout, and netty-tcnative has no
 * call for that setting. What it has is {@code SSL.setTimeout}, which sets the lifetime of the
 * session a handshake is building ({@code SSL_SESSION_set_timeout}: both the lifetime and the
 * renewal bound). The server makes that session when it reads the ClientHello and issues its
 * tickets, which carry the lifetime encrypted and as the lifetime hint, when it reads the client's
 * Finished; this handler sits in front of the SslHandler and sets the lifetime on every read in
 * between, then leaves. A resumption's session is left alone: BoringSSL caps its renewed lifetime
 * at what is left of the bound, so a session resumes for at most the timeout after the full
 * handshake that made it, as TLS 1.2 sessions already do.
 */
@ChannelHandler.Sharable
final class SessionLifetimeHandler extends ChannelInboundHandlerAdapter {

    static final String NAME = "portico-tls-session-lifetime";

    private final long seconds;

    SessionLifetimeHandler(long seconds) {
        this.seconds = seconds;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl != null && ssl.engine() instanceof ReferenceCountedOpenSslEngine engine) {
            bound(engine);
        }
        ctx.fireChannelRead(msg);
        if ((ssl == null || ssl.handshakeFuture().isDone()) && !ctx.isRemoved()) {
            ctx.pipeline().remove(this);
        }
    }

    private void bound(ReferenceCountedOpenSslEngine engine) {
        // The engine's lock keeps its SSL from being freed by a concurrent shutdown.
        synchronized (engine) {
            long pointer = engine.sslPointer();
            // Before the ClientHello there is no session yet and the call does nothing.
            if (pointer != 0 && !SSL.isSessionReused(pointer)) {
                SSL.setTimeout(pointer, seconds);
            }
        }
    }
}
