package io.portico.server.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigException;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Half-open QUIC handshakes are bounded: a Retry round trip validates a new client's address (by
 * default once http3.retry_threshold handshakes are in progress), and past http3.max_handshakes a
 * new connection is dropped before its handshake begins. Before, every Initial started a
 * handshake, with no Retry and no cap.
 */
class Http3HandshakeLimitsTest {

    private SelfSignedCertificate cert;
    private PorticoServer server;

    @BeforeEach
    void certificate() throws Exception {
        cert = new SelfSignedCertificate("localhost");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        cert.delete();
    }

    private void start(String http3Settings) throws Exception {
        start(http3Settings, "10s");
    }

    private void start(String http3Settings, String handshakeTimeout) throws Exception {
        server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: %s, key: %s}]
                      handshake_timeout: %s
                    http3: {enabled: true, %s}
                access_log: {enabled: false}
                servers:
                  - routes: [{match: {prefix: /}, respond: {body: ok}}]
                """.formatted(cert.certificate(), cert.privateKey(), handshakeTimeout, http3Settings)));
    }

    private int port() {
        return server.http3Address("https").getPort();
    }

    private long h3Event(String name) {
        return server.metrics().listener("https").http3().snapshot().get(name);
    }

    private int handshakesInProgress() {
        return server.metrics().listener("https").http3().handshakesInProgress();
    }

    @Test
    void withRetryAlwaysEveryNewClientIsValidatedAndServed() throws Exception {
        start("retry: always");
        try (H3Client c = new H3Client(port(), cert.cert())) {
            assertThat(c.get("/a").status()).isEqualTo(200);
        }
        try (H3Client c = new H3Client(port(), cert.cert())) {
            assertThat(c.get("/b").status()).isEqualTo(200);
        }
        assertThat(h3Event("retry_sent")).isEqualTo(2);
        assertThat(h3Event("retry_token_invalid")).isZero();
    }

    /**
     * By default (auto) a client is validated only once retry_threshold handshakes are in
     * progress: the first client here gets no Retry; with one handshake left hanging (its client
     * hears nothing Portico sends) the next is sent one, comes back with its token and is served.
     */
    @Test
    void autoSendsRetryOnceTheThresholdOfHandshakesInProgressIsReached() throws Exception {
        start("retry_threshold: 1");
        try (H3Client c = new H3Client(port(), cert.cert())) {
            assertThat(c.get("/a").status()).isEqualTo(200);
        }
        assertThat(h3Event("retry_sent")).isZero();
        try (HangingHandshake hanging = new HangingHandshake(port())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> handshakesInProgress() == 1);
            try (H3Client c = new H3Client(port(), cert.cert())) {
                assertThat(c.get("/b").status()).isEqualTo(200);
            }
            assertThat(h3Event("retry_sent")).isEqualTo(1);
        }
    }

    @Test
    void pastMaxHandshakesANewConnectionIsDroppedBeforeItsHandshakeAndCounted() throws Exception {
        start("retry: never, max_handshakes: 1, idle_timeout: 2s");
        try (HangingHandshake hanging = new HangingHandshake(port())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> handshakesInProgress() == 1);
            try (HangingHandshake refused = new HangingHandshake(port())) {
                await().atMost(Duration.ofSeconds(10)).until(() -> h3Event("handshake_refused") >= 1);
                assertThat(handshakesInProgress()).isEqualTo(1);
                assertThat(server.metrics().listener("https").http3().activeConnections()).isZero();
            }
        }
        // The hanging handshake ends at the QUIC idle timeout, and its place is free again.
        await().atMost(Duration.ofSeconds(10)).until(() -> handshakesInProgress() == 0);
        try (H3Client c = new H3Client(port(), cert.cert())) {
            assertThat(c.get("/after").status()).isEqualTo(200);
        }
        assertThat(h3Event("retry_sent")).isZero();
    }

    /**
     * A handshake its client leaves hanging ends at tls.handshake_timeout, not at the QUIC idle
     * timeout (30 s here, which every retransmitted Initial would restart anyway): it is counted as
     * handshake_timeout and its place under max_handshakes (1) is free for the next client.
     */
    @Test
    void aHandshakeNotDoneWithinTheTlsHandshakeTimeoutIsClosedAndItsPlaceFreed() throws Exception {
        start("retry: never, max_handshakes: 1, idle_timeout: 30s", "300ms");
        try (HangingHandshake hanging = new HangingHandshake(port())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> h3Event("handshake_timeout") >= 1);
        }
        // Its client gone, no Initial starts another: the count is back to zero well before idle_timeout.
        await().atMost(Duration.ofSeconds(5)).until(() -> handshakesInProgress() == 0);
        assertThat(server.metrics().listener("https").http3().activeConnections()).isZero();
        try (H3Client c = new H3Client(port(), cert.cert())) {
            assertThat(c.get("/after").status()).isEqualTo(200);
        }
        assertThat(h3Event("handshake_refused")).isZero();
    }

    @Test
    void aRetryThresholdThatMaxHandshakesWouldNeverLetBeReachedIsAConfigErrorNamingTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("test.yaml", """
                listeners:
                  - address: 127.0.0.1:0
                    tls: {protocols: [TLSv1.3]}
                    http3:
                      enabled: true
                      max_handshakes: 10
                      retry_threshold: 10
                servers: [{routes: [{match: {prefix: /}, respond: {status: 204}}]}]
                """)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("test.yaml:").hasMessageContaining("http3.retry_threshold")
                .hasMessageContaining("max_handshakes");
    }

    /**
     * A QUIC client whose socket drops everything that comes back: its Initial starts a handshake
     * at Portico that never completes (until the QUIC idle timeout), as a client that vanished or a
     * sender at someone else's address leaves one.
     */
    private final class HangingHandshake implements AutoCloseable {
        private final MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        private final Channel udp;

        HangingHandshake(int port) throws Exception {
            QuicSslContext tls = QuicSslContextBuilder.forClient().trustManager(cert.cert())
                    .applicationProtocols(Http3.supportedApplicationProtocols()).build();
            ChannelHandler codec = Http3.newQuicClientCodecBuilder()
                    .sslEngineProvider(ch -> tls.newEngine(ch.alloc(), "localhost", port))
                    .maxIdleTimeout(30, TimeUnit.SECONDS)
                    .build();
            udp = new Bootstrap().group(group).channel(NioDatagramChannel.class)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ReferenceCountUtil.release(msg);
                                }
                            }, codec);
                        }
                    }).bind(0).sync().channel();
            QuicChannel.newBootstrap(udp).handler(new Http3ClientConnectionHandler())
                    .remoteAddress(new InetSocketAddress("127.0.0.1", port)).connect();
        }

        @Override
        public void close() {
            udp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }
}
