package io.portico.tls;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.SslMasterKeyHandler;

import javax.crypto.SecretKey;
import javax.net.ssl.SSLSession;
import java.nio.charset.StandardCharsets;

/**
 * Key logging for the JDK provider, through Netty's {@link SslMasterKeyHandler}: it reads the TLS 1.2
 * master secret out of SunJSSE's session by reflection, which needs
 * {@code --add-opens java.base/sun.security.ssl=ALL-UNNAMED}. Lines use the
 * {@code RSA Session-ID:<id> Master-Key:<secret>} form that Wireshark accepts in a key log file
 * (SunJSSE keeps no client random to write NSS's {@code CLIENT_RANDOM} form). TLS 1.3 secrets are
 * not reachable in SunJSSE, so TLS 1.3 connections are not logged.
 */
@ChannelHandler.Sharable
final class JdkKeyLogHandler extends SslMasterKeyHandler {

    private final KeyLogFile file;

    JdkKeyLogHandler(KeyLogFile file) {
        this.file = file;
    }

    /** Whether the JVM lets the master secret be read (the add-opens above). */
    static boolean available() {
        return isSunSslEngineAvailable();
    }

    @Override
    protected boolean masterKeyHandlerEnabled() {
        return true;
    }

    @Override
    protected void accept(SecretKey masterKey, SSLSession session) {
        if (masterKey == null || !"TLSv1.2".equals(session.getProtocol())) {
            return;
        }
        byte[] id = session.getId();
        byte[] secret = masterKey.getEncoded();
        if (id == null || id.length == 0 || secret == null) {
            return;
        }
        file.append(("RSA Session-ID:" + ByteBufUtil.hexDump(id) + " Master-Key:" + ByteBufUtil.hexDump(secret))
                .getBytes(StandardCharsets.US_ASCII));
    }
}
