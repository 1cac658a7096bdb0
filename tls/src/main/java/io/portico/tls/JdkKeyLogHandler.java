package io.portico.tls;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

import javax.crypto.SecretKey;
import javax.net.ssl.SSLSession;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;

/**
 * Key logging for the JDK provider: after each TLS 1.2 handshake, reads the master secret out of
 * SunJSSE's session by reflection, which needs
 * {@code --add-opens java.base/sun.security.ssl=ALL-UNNAMED}. Lines use the
 * {@code RSA Session-ID:<id> Master-Key:<secret>} form that Wireshark accepts in a key log file
 * (SunJSSE keeps no client random to write NSS's {@code CLIENT_RANDOM} form). TLS 1.3 secrets are
 * not reachable in SunJSSE, so TLS 1.3 connections are not logged. (Netty's own
 * {@code SslMasterKeyHandler} does the same but also needs {@code -Dio.netty.tryReflectionSetAccessible=true}.)
 */
@ChannelHandler.Sharable
final class JdkKeyLogHandler extends ChannelInboundHandlerAdapter {

    private static final Field MASTER_SECRET = masterSecretField();

    private final KeyLogFile file;

    JdkKeyLogHandler(KeyLogFile file) {
        this.file = file;
    }

    /** Whether the JVM lets the master secret be read (the add-opens above). */
    static boolean available() {
        return MASTER_SECRET != null;
    }

    private static Field masterSecretField() {
        try {
            Field field = Class.forName("sun.security.ssl.SSLSessionImpl").getDeclaredField("masterSecret");
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof SslHandshakeCompletionEvent && ((SslHandshakeCompletionEvent) event).isSuccess()
                && MASTER_SECRET != null) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl != null) {
                log(ssl.engine().getSession());
            }
        }
        ctx.fireUserEventTriggered(event);
    }

    private void log(SSLSession session) {
        if (!"TLSv1.2".equals(session.getProtocol()) || !MASTER_SECRET.getDeclaringClass().isInstance(session)) {
            return;
        }
        Object secret;
        try {
            secret = MASTER_SECRET.get(session);
        } catch (IllegalAccessException e) {
            return;
        }
        byte[] id = session.getId();
        byte[] key = secret instanceof SecretKey ? ((SecretKey) secret).getEncoded() : null;
        if (id == null || id.length == 0 || key == null) {
            return;
        }
        file.append(("RSA Session-ID:" + ByteBufUtil.hexDump(id) + " Master-Key:" + ByteBufUtil.hexDump(key))
                .getBytes(StandardCharsets.US_ASCII));
    }
}
