package io.portico.server.it;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.DemoOriginConfig;
import io.portico.server.config.HostPort;
import io.portico.server.demo.DemoOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** WebSockets through Portico with the JDK client, and the byte-level cases it will not produce. */
class WebSocketProxyingTest {

    static final String HANDSHAKE = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    static EventLoopGroup originLoop;
    static DemoOrigin echo;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        originLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        echo = DemoOrigin.start(new DemoOriginConfig(true, new HostPort("127.0.0.1", 0)), originLoop,
                NioServerSocketChannel.class);
        portico = PorticoHarness.start("""
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - names: [localhost]
                    routes:
                      - match: {prefix: /}
                        upstream: echo
                        websocket: {mode: raw}
                  - default: true
                    routes:
                      - match: {prefix: /}
                        upstream: echo
                        websocket: {max_frame_size: 32m, max_message_size: 32m}
                """.formatted(echo.address().getPort()));
    }

    @AfterAll
    static void stop() {
        portico.close();
        echo.close();
        originLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void echoesTextBinaryAndFragmentedMessages() throws Exception {
        Listener listener = new Listener();
        WebSocket ws = connect("/ws", listener);
        ws.sendText("hello", true).join();
        assertThat(listener.nextWhole()).isEqualTo("hello");
        ws.sendBinary(ByteBuffer.wrap(new byte[] {1, 2, 3}), true).join();
        assertThat(listener.nextWhole()).isEqualTo("binary:3");
        ws.sendText("frag", false).join();
        ws.sendText("mented", true).join();
        assertThat(listener.nextWhole()).isEqualTo("fragmented");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").join();
        assertThat(listener.closed.get(10, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);
    }

    @Test
    void carriesASixteenMebibyteMessageAndAOneMebibyteOneTheOtherWay() throws Exception {
        // Down: the origin sends 16 MiB. Up: 1 MiB, which Portico must mask towards the origin (slow under
        // paranoid leak detection, which watches every buffer access; the relay's own tests cover more).
        Listener listener = new Listener();
        WebSocket ws = connect("/ws", listener);
        ws.sendText("send-bytes:" + (16 << 20), true).join();
        assertThat(listener.nextWhole()).isEqualTo("binary:" + (16 << 20));
        ws.sendBinary(ByteBuffer.wrap(new byte[1 << 20]), true).join();
        assertThat(listener.nextWhole()).isEqualTo("binary:" + (1 << 20));
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
    }

    @Test
    void relaysRawModeToo() throws Exception {
        Listener listener = new Listener();
        // Host localhost selects the server whose route relays raw bytes.
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://localhost:" + portico.port() + "/ws"), listener).join();
        ws.sendText("raw hello", true).join();
        assertThat(listener.nextWhole()).isEqualTo("raw hello");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
        assertThat(listener.closed.get(10, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);
    }

    @Test
    void refusesABadHandshakeWith400AndAnOldVersionWith426() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(400);
        }
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(426);
            assertThat(r.header("sec-websocket-version")).isEqualTo("13");
        }
    }

    @Test
    void anUpstreamThatRefusesTheUpgradeIsAnsweredAsPlainHttp() throws Exception {
        try (RawHttp raw = new RawHttp(portico.port())) {
            RawHttp.Response r = raw.send("GET /hello HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).contains("Hello from the Portico demo origin");
        }
    }

    /**
     * A client must wait for the 101 before it sends frames (RFC 6455 section 4.1), but a frame
     * sent in the same write as the handshake is not lost: it reaches the upstream once the
     * connection has switched, as nginx passes such bytes on.
     */
    @Test
    void aFrameSentRightBehindTheHandshakeIsRelayedAfterTheSwitch() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] handshake = (HANDSHAKE + "\r\n").getBytes(StandardCharsets.US_ASCII);
            // A masked text frame "hi" (mask 1 2 3 4).
            byte[] frame = {(byte) 0x81, (byte) 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
            byte[] both = java.util.Arrays.copyOf(handshake, handshake.length + frame.length);
            System.arraycopy(frame, 0, both, handshake.length, frame.length);
            out.write(both);
            out.flush();
            assertThat(readHead(in)).startsWith("HTTP/1.1 101");
            assertThat(in.readNBytes(4)).as("the echo of the frame").containsExactly(0x81, 0x02, 'h', 'i');
        }
    }

    @Test
    void closesAnUnmaskedClientFrameWith1002() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 101").containsIgnoringCase("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
            // A text frame "hi" without the mask bit: clients must mask (RFC 6455 section 5.1).
            out.write(new byte[] {(byte) 0x81, 0x02, 'h', 'i'});
            out.flush();
            int b0 = in.read();
            int len = in.read();
            assertThat(b0 & 0x0f).as("a close frame").isEqualTo(0x8);
            assertThat(len).isGreaterThanOrEqualTo(2);
            int code = (in.read() << 8) | in.read();
            assertThat(code).isEqualTo(1002);
        }
    }

    @Test
    void wssThroughATlsListenerEchoesAndEndsWithTheCloseHandshakeAndCloseNotify(@TempDir Path dir) throws Exception {
        String yaml = """
                workers: 1
                tls: {dev_cert_dir: %s}
                admin: {address: "127.0.0.1:0"}
                access_log: {enabled: false}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                    tls: {certificates: []}
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: echo}]
                """.formatted(dir.resolve("tls"), echo.address().getPort());
        try (PorticoHarness tls = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("wss.yaml", yaml)))) {
            SSLContext trusting = TlsProxyingTest.trusting(
                    TlsProxyingTest.loadCert(dir.resolve("tls").resolve("portico-dev.crt")));
            Listener listener = new Listener();
            WebSocket ws = HttpClient.newBuilder().sslContext(trusting).build().newWebSocketBuilder()
                    .buildAsync(URI.create("wss://localhost:" + tls.port() + "/ws"), listener).join();
            ws.sendText("over tls", true).join();
            assertThat(listener.nextWhole()).isEqualTo("over tls");
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
            assertThat(listener.closed.get(10, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);

            // Byte by byte: the close reply, then close_notify (a clean end of stream), never a bare TCP FIN or reset.
            try (SSLSocket s = (SSLSocket) trusting.getSocketFactory().createSocket("localhost", tls.port())) {
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                out.write((HANDSHAKE + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(readHead(in)).startsWith("HTTP/1.1 101");
                out.write(Http2WebSocketTest.clientFrame(0x8, new byte[] {0x03, (byte) 0xe8}));
                out.flush();
                assertThat(in.readNBytes(4)).containsExactly(0x88, 0x02, 0x03, 0xe8);
                assertThat(in.read()).as("end of stream after the close handshake").isEqualTo(-1);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> tls.server().metrics().listener("http").activeWebSockets() == 0);
        }
    }

    @Test
    void capsWebSocketsPerClientAddress() throws Exception {
        try (PorticoHarness capped = PorticoHarness.start("""
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: echo}]
                """.formatted(echo.address().getPort()), "    websocket: {max_per_client_ip: 1}\n")) {
            Listener first = new Listener();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + capped.port() + "/ws"), first).join();
            try (RawHttp raw = new RawHttp(capped.port())) {
                RawHttp.Response r = raw.send("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").read();
                assertThat(r.status()).isEqualTo(503);
            }
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
            first.closed.get(10, TimeUnit.SECONDS);
            // Once the first socket is closed its slot is free again.
            await().atMost(Duration.ofSeconds(5)).until(() -> opens(capped));
        }
    }

    @Test
    void aReloadKeepsCountingTheWebSocketsItLeftOpen() throws Exception {
        String yaml = """
                workers: 2
                admin: {address: "127.0.0.1:0"}
                access_log: {enabled: false}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                    websocket: {max_connections: 1, max_per_client_ip: 1}
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: echo}]
                """.formatted(echo.address().getPort());
        try (PorticoHarness capped = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", yaml)))) {
            Listener first = new Listener();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + capped.port() + "/ws"), first).join();
            assertThat(capped.server().apply(ConfigLoader.parse("test.yaml", yaml), "test").ok()).isTrue();

            // The socket opened before the reload still holds the only slot: the caps are the listener's, not the config's.
            try (RawHttp raw = new RawHttp(capped.port())) {
                assertThat(raw.send(HANDSHAKE + "\r\n").read().status()).isEqualTo(503);
            }
            ws.sendText("still open", true).join();
            assertThat(first.nextWhole()).isEqualTo("still open");
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
            first.closed.get(10, TimeUnit.SECONDS);
            // Closed, it gives its slot back to the listener, whichever config it was opened under.
            await().atMost(Duration.ofSeconds(5)).until(() -> opens(capped));
        }
    }

    @Test
    void anUpgradeRefusedWith417Or413GivesItsSlotBack() throws Exception {
        try (PorticoHarness capped = PorticoHarness.start("""
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: echo}]
                """.formatted(echo.address().getPort()), "    websocket: {max_connections: 1}\n")) {
            try (RawHttp raw = new RawHttp(capped.port())) {
                assertThat(raw.send(HANDSHAKE + "Expect: nonsense\r\n\r\n").read().status()).isEqualTo(417);
            }
            try (RawHttp raw = new RawHttp(capped.port())) {
                // Over the default max_body_size of 1m.
                assertThat(raw.send(HANDSHAKE + "Content-Length: 2000000\r\n\r\n").read().status()).isEqualTo(413);
            }
            // Neither refusal may hold the only slot: a real WebSocket still gets it.
            assertThat(opens(capped)).isTrue();
        }
    }

    @Test
    void anUpgradeWithABodyIsRefusedWith400AndNeverReachesTheUpstream() throws Exception {
        try (RawOrigin origin = new RawOrigin().on("/ws", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
             PorticoHarness p = PorticoHarness.proxyTo(origin.port(), "")) {
            // The body is an unmasked text frame "evil", which a FRAMES relay would refuse from a client.
            String frame = "\u0081\u0004evil";
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE + "Content-Length: 6\r\n\r\n" + frame).read().status()).isEqualTo(400);
            }
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE + "Transfer-Encoding: chunked\r\n\r\n6\r\n" + frame + "\r\n0\r\n\r\n")
                        .read().status()).isEqualTo(400);
            }
            assertThat(origin.accepted.get()).as("connections to the upstream").isZero();
        }
    }

    @Test
    void anUpgradeWithAnEmptyContentLengthStillUpgrades() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write((HANDSHAKE + "Content-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 101");
        }
    }

    @Test
    void aClientThatNeverReadsButKeepsPingingIsClosedAfterTheSendTimeout() throws Exception {
        try (PorticoHarness p = PorticoHarness.start("""
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: echo}]
                """.formatted(echo.address().getPort()), "    http: {send_timeout: 1s}\n");
             Socket s = new Socket()) {
            int openBefore = p.server().lifecycle().openConnections();
            s.setReceiveBufferSize(4096);
            s.connect(new InetSocketAddress("127.0.0.1", p.port()));
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write((HANDSHAKE + "\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 101");
            out.write(Http2WebSocketTest.clientFrame(0x1, ("send-bytes:" + (8 << 20)).getBytes(StandardCharsets.US_ASCII)));
            // ...and never read again, but ping often enough never to be idle: only send_timeout can end it.
            ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor();
            try {
                pinger.scheduleAtFixedRate(() -> {
                    try {
                        out.write(Http2WebSocketTest.clientFrame(0x9, new byte[0]));
                    } catch (IOException closed) {
                        throw new UncheckedIOException(closed);
                    }
                }, 0, 200, TimeUnit.MILLISECONDS);
                await().atMost(Duration.ofSeconds(10)).until(() -> p.server().lifecycle().openConnections() <= openBefore);
            } finally {
                pinger.shutdownNow();
            }
        }
    }

    @Test
    void offersTheUpstreamOnlyPermessageDeflateAndRefusesA101SelectingAnythingElse() throws Exception {
        String switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
        String webkit = switching + "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n";
        String deflate = switching + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        try (RawOrigin origin = new RawOrigin().on("/webkit", webkit).on("/deflate", deflate).on("/raw/webkit", webkit)
                     .on("/plain/deflate", deflate);
             PorticoHarness p = PorticoHarness.start("""
                     upstreams:
                       origin:
                         backends: [{address: "127.0.0.1:%d"}]
                     servers:
                       - routes:
                           - {match: {prefix: /raw}, upstream: origin, websocket: {mode: raw}}
                           - {match: {prefix: /plain}, upstream: origin, websocket: {deflate: false}}
                           - {match: {prefix: /}, upstream: origin}
                     """.formatted(origin.port()))) {
            String offers = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-deflate-frame\r\n";
            // The relay checks frames and knows only permessage-deflate's RSV1: the other offer goes no further...
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE.replace("/ws", "/webkit") + offers + "\r\n").read().status()).isEqualTo(502);
            }
            assertThat(origin.heads.get(0).toLowerCase(Locale.ROOT))
                    .contains("sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n")
                    .doesNotContain("x-webkit");
            // ...and an upstream may select only what was offered (RFC 6455 section 9.1).
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE.replace("/ws", "/deflate") + "\r\n").read().status()).isEqualTo(502);
            }
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send(HANDSHAKE.replace("/ws", "/deflate") + offers + "\r\n").read();
                assertThat(r.status()).isEqualTo(101);
                assertThat(r.header("sec-websocket-extensions")).isEqualTo("permessage-deflate");
            }
            // websocket.deflate: false offers the upstream no compression, so the limits see every message as it is.
            int before = origin.heads.size();
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE.replace("/ws", "/plain/deflate") + offers + "\r\n").read().status())
                        .isEqualTo(502);
            }
            assertThat(origin.heads.get(before).toLowerCase(Locale.ROOT)).doesNotContain("sec-websocket-extensions");
            // A raw relay looks at no frame: whatever the two ends agree on passes.
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send(HANDSHAKE.replace("/ws", "/raw/webkit") + offers + "\r\n").read();
                assertThat(r.status()).isEqualTo(101);
                assertThat(r.header("sec-websocket-extensions")).isEqualTo("x-webkit-deflate-frame");
            }
        }
    }

    @Test
    void a101MustPickAnOfferedSubprotocolAndSayUpgradeAndCarriesVia() throws Exception {
        String switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
        try (RawOrigin origin = new RawOrigin()
                     .on("/chat", switching + "Sec-WebSocket-Protocol: chat\r\n\r\n")
                     .on("/other", switching + "Sec-WebSocket-Protocol: notoffered\r\n\r\n")
                     .on("/no-upgrade", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                             + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
             PorticoHarness p = PorticoHarness.proxyTo(origin.port(), "")) {
            String offer = "Sec-WebSocket-Protocol: superchat, chat\r\n\r\n";
            try (RawHttp raw = new RawHttp(p.port())) {
                RawHttp.Response r = raw.send(HANDSHAKE.replace("/ws", "/chat") + offer).read();
                assertThat(r.status()).isEqualTo(101);
                assertThat(r.header("sec-websocket-protocol")).isEqualTo("chat");
                assertThat(r.header("via")).isEqualTo("1.1 portico");
            }
            // A browser would fail the connection on a subprotocol it did not offer (RFC 6455 section 4.1).
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE.replace("/ws", "/other") + offer).read().status()).isEqualTo(502);
            }
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE.replace("/ws", "/chat") + "\r\n").read().status()).isEqualTo(502);
            }
            try (RawHttp raw = new RawHttp(p.port())) {
                assertThat(raw.send(HANDSHAKE.replace("/ws", "/no-upgrade") + "\r\n").read().status()).isEqualTo(502);
            }
        }
    }

    @Test
    void anHttp10RequestNamingWebSocketIsProxiedAsPlainHttpWithoutItsUpgrade() throws Exception {
        try (RawOrigin origin = new RawOrigin().on("/ws", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
             PorticoHarness p = PorticoHarness.proxyTo(origin.port(), "");
             RawHttp raw = new RawHttp(p.port())) {
            // RFC 9110 section 7.8: a server must ignore Upgrade in an HTTP/1.0 request.
            RawHttp.Response r = raw.send(HANDSHAKE.replace("HTTP/1.1", "HTTP/1.0") + "\r\n").read();

            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("plain");
            assertThat(origin.heads.get(0).toLowerCase(Locale.ROOT)).doesNotContain("upgrade");
        }
    }

    private static boolean opens(PorticoHarness p) {
        try {
            Listener l = new Listener();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + p.port() + "/ws"), l).join();
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
            return true;
        } catch (RuntimeException refused) {
            return false;
        }
    }

    @Test
    void aGracefulShutdownClosesWebSocketsWithGoingAway() throws Exception {
        PorticoHarness own = PorticoHarness.start("""
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - default: true
                    routes:
                      - match: {prefix: /}
                        upstream: echo
                """.formatted(echo.address().getPort()));
        try {
            Listener listener = new Listener();
            WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + own.port() + "/ws"), listener).join();
            ws.sendText("before", true).join();
            assertThat(listener.nextWhole()).isEqualTo("before");
            own.server().shutdown(Duration.ofSeconds(5));
            // RFC 6455 section 7.4.1: the server is going away; without a close frame the client sees 1006.
            assertThat(listener.closed.get(10, TimeUnit.SECONDS)).isEqualTo(1001);
        } finally {
            own.close();
        }
    }

    private static WebSocket connect(String path, Listener listener) {
        return HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + portico.port() + path), listener).join();
    }

    /** Reads a response head up to its empty line (what came, if the connection ends first). */
    static String readHead(InputStream in) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            sb.append((char) c);
        }
        return sb.toString();
    }

    /** Collects whole messages (text as is, binary as "binary:N"), joining fragments; remembers the close code. */
    static final class Listener implements WebSocket.Listener {
        final LinkedBlockingQueue<String> wholes = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final StringBuilder text = new StringBuilder();
        private long binary;

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                wholes.add(text.toString());
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            binary += data.remaining();
            if (last) {
                wholes.add("binary:" + binary);
                binary = 0;
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
        }

        String nextWhole() throws InterruptedException {
            return wholes.poll(20, TimeUnit.SECONDS);
        }
    }
}
