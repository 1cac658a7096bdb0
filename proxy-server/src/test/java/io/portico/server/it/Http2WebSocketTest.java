package io.portico.server.it;

import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http2.Http2Headers;
import io.portico.server.config.DemoOriginConfig;
import io.portico.server.config.HostPort;
import io.portico.server.demo.DemoOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** WebSocket over HTTP/2 (RFC 8441): extended CONNECT bridged to an HTTP/1.1 upgrade towards the echo origin. */
class Http2WebSocketTest {

    static MultiThreadIoEventLoopGroup originLoop;
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
                  - default: true
                    routes:
                      - match: {prefix: /nows}
                        upstream: echo
                        websocket: {enabled: false}
                      - match: {prefix: /}
                        upstream: echo
                """.formatted(echo.address().getPort()));
    }

    @AfterAll
    static void stop() {
        portico.close();
        echo.close();
        originLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    static Http2Headers extendedConnect(String path) {
        return RawH2.request("CONNECT", path).add(":protocol", "websocket").add("sec-websocket-version", "13");
    }

    /** A client frame (masked, as RFC 6455 requires) with a payload under 126 bytes. */
    static byte[] clientFrame(int opcode, byte[] payload) {
        byte[] mask = {1, 2, 3, 4};
        byte[] f = new byte[2 + 4 + payload.length];
        f[0] = (byte) (0x80 | opcode);
        f[1] = (byte) (0x80 | payload.length);
        System.arraycopy(mask, 0, f, 2, 4);
        for (int i = 0; i < payload.length; i++) {
            f[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
        }
        return f;
    }

    /** Reads DATA on {@code stream} until {@code n} bytes arrived. */
    static byte[] readData(RawH2 h2, int stream, int n) throws Exception {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        while (got.size() < n) {
            RawH2.Frame f = h2.next();
            assertThat(f).as("connection open").isNotNull();
            if (f.type() == RawH2.DATA && f.stream() == stream) {
                got.write(f.payload());
                h2.frame(RawH2.WINDOW_UPDATE, 0, 0, RawH2.int32(Math.max(1, f.payload().length)));
            } else if (f.type() == RawH2.RST_STREAM && f.stream() == stream) {
                throw new AssertionError("stream reset with " + f.errorCode() + " after " + got.size() + " bytes");
            }
        }
        return got.toByteArray();
    }

    @Test
    void porticoAnnouncesExtendedConnect() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            RawH2.Frame settings = h2.next();
            assertThat(settings.type()).isEqualTo(RawH2.SETTINGS);
            boolean connectProtocol = false;
            byte[] p = settings.payload();
            for (int i = 0; i + 6 <= p.length; i += 6) {
                int id = ((p[i] & 0xff) << 8) | (p[i + 1] & 0xff);
                int value = ((p[i + 2] & 0xff) << 24) | ((p[i + 3] & 0xff) << 16) | ((p[i + 4] & 0xff) << 8) | (p[i + 5] & 0xff);
                connectProtocol |= id == 0x8 && value == 1;
            }
            assertThat(connectProtocol).as("SETTINGS_ENABLE_CONNECT_PROTOCOL").isTrue();
        }
    }

    @Test
    void anExtendedConnectBecomesAWebSocketToTheEchoOrigin() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, extendedConnect("/ws"), false);
            RawH2.Frame head;
            do {
                head = h2.next();
            } while (head.type() != RawH2.HEADERS);
            assertThat(head.stream()).isEqualTo(1);
            assertThat(head.flags() & RawH2.END_STREAM).as("the stream stays open").isZero();

            byte[] text = "hello over h2".getBytes(StandardCharsets.UTF_8);
            h2.data(1, clientFrame(0x1, text), false);
            byte[] echoed = readData(h2, 1, 2 + text.length);
            assertThat(echoed[0] & 0xff).isEqualTo(0x81);
            assertThat(echoed[1] & 0xff).isEqualTo(text.length);
            assertThat(new String(Arrays.copyOfRange(echoed, 2, echoed.length), StandardCharsets.UTF_8))
                    .isEqualTo("hello over h2");

            byte[] binary = new byte[100];
            Arrays.fill(binary, (byte) 7);
            h2.data(1, clientFrame(0x2, binary), false);
            byte[] echoedBinary = readData(h2, 1, 2 + binary.length);
            assertThat(echoedBinary[0] & 0xff).isEqualTo(0x82);
            assertThat(Arrays.copyOfRange(echoedBinary, 2, echoedBinary.length)).isEqualTo(binary);

            // The close handshake is relayed: 1000 comes back.
            h2.data(1, clientFrame(0x8, new byte[] {0x03, (byte) 0xe8}), false);
            byte[] close = readData(h2, 1, 4);
            assertThat(close[0] & 0xff).isEqualTo(0x88);
            assertThat(((close[2] & 0xff) << 8) | (close[3] & 0xff)).isEqualTo(1000);
        }
    }

    @Test
    void anExtendedConnectToARouteWithoutWebSocketsGets501() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, extendedConnect("/nows"), false);
            assertThat(h2.response(1).status()).isEqualTo("501");
        }
    }

    @Test
    void anExtendedConnectDeclaringABodyIsMalformedAndTheConnectionGoesOn() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            // The upstream would get a GET with Content-Length: 40 and no body; were the upgrade
            // refused, its pooled connection would take the next request's first 40 bytes as body.
            h2.headers(1, extendedConnect("/ws").add("content-length", "40"), false);
            assertThat(h2.response(1).resetCode()).isEqualTo(0x1); // PROTOCOL_ERROR

            h2.headers(3, extendedConnect("/ws"), false);
            byte[] text = "still here".getBytes(StandardCharsets.UTF_8);
            h2.data(3, clientFrame(0x1, text), false);
            byte[] echoed = readData(h2, 3, 2 + text.length);
            assertThat(new String(Arrays.copyOfRange(echoed, 2, echoed.length), StandardCharsets.UTF_8))
                    .isEqualTo("still here");
        }
    }

    @Test
    void anExtendedConnectRefusedWith417GivesItsSlotBack() throws Exception {
        try (PorticoHarness capped = PorticoHarness.start("""
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: echo}]
                """.formatted(echo.address().getPort()), "    websocket: {max_connections: 1}\n");
             RawH2 h2 = new RawH2(capped.port())) {
            h2.headers(1, extendedConnect("/ws").add("expect", "nonsense"), false);
            assertThat(h2.response(1).status()).isEqualTo("417");

            // The only slot is still free: the next extended CONNECT becomes a WebSocket.
            h2.headers(3, extendedConnect("/ws"), false);
            byte[] text = "slot given back".getBytes(StandardCharsets.UTF_8);
            h2.data(3, clientFrame(0x1, text), false);
            byte[] echoed = readData(h2, 3, 2 + text.length);
            assertThat(new String(Arrays.copyOfRange(echoed, 2, echoed.length), StandardCharsets.UTF_8))
                    .isEqualTo("slot given back");
        }
    }

    @Test
    void aPlainConnectGets501() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, new io.netty.handler.codec.http2.DefaultHttp2Headers().method("CONNECT")
                    .authority("example.com:443"), false);
            // A reverse proxy opens no tunnels (a 405 would have to carry Allow).
            assertThat(h2.response(1).status()).isEqualTo("501");
        }
    }

    @Test
    void aCleanCloseHandshakeEndsTheStreamWithEndStreamNotAReset() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, extendedConnect("/ws"), false);
            RawH2.Frame head;
            do {
                head = h2.next();
            } while (head.type() != RawH2.HEADERS);

            h2.data(1, clientFrame(0x8, new byte[] {0x03, (byte) 0xe8}), false);
            byte[] close = readData(h2, 1, 4);
            assertThat(close[0] & 0xff).isEqualTo(0x88);
            // The relay is done: its side of the stream ends with END_STREAM (RFC 8441 section 4).
            RawH2.Frame end = h2.next();
            while (end.type() != RawH2.DATA || end.stream() != 1) {
                assertThat(end.type() == RawH2.RST_STREAM && end.stream() == 1).as("stream 1 reset").isFalse();
                end = h2.next();
            }
            assertThat(end.flags() & RawH2.END_STREAM).as("END_STREAM").isEqualTo(RawH2.END_STREAM);

            // The client ends its side too; the stream is then closed on both ends without RST_STREAM.
            h2.data(1, new byte[0], true);
            h2.frame(RawH2.PING, 0, 0, new byte[8]);
            RawH2.Frame f;
            while ((f = h2.next()) != null && !(f.type() == RawH2.PING && (f.flags() & RawH2.ACK) != 0)) {
                assertThat(f.type() == RawH2.RST_STREAM && f.stream() == 1).as("stream 1 reset").isFalse();
            }
            assertThat(f).as("PING answered, the connection is still open").isNotNull();
        }
    }

    @Test
    void aClientThatEndsItsSideWithItsCloseGetsTheReplyAndEndStreamNotAReset() throws Exception {
        try (RawH2 h2 = new RawH2(portico.port())) {
            h2.headers(1, extendedConnect("/ws"), false);
            RawH2.Frame head;
            do {
                head = h2.next();
            } while (head.type() != RawH2.HEADERS);

            // The close frame and END_STREAM together: the client has nothing more to send.
            h2.data(1, clientFrame(0x8, new byte[] {0x03, (byte) 0xe8}), true);
            byte[] close = readData(h2, 1, 4);
            assertThat(close[0] & 0xff).isEqualTo(0x88);
            assertThat(((close[2] & 0xff) << 8) | (close[3] & 0xff)).isEqualTo(1000);
            RawH2.Frame f = h2.next();
            while (f != null && !(f.type() == RawH2.DATA && f.stream() == 1 && (f.flags() & RawH2.END_STREAM) != 0)) {
                assertThat(f.type() == RawH2.RST_STREAM && f.stream() == 1)
                        .as("stream 1 reset with %s", f.type() == RawH2.RST_STREAM ? f.errorCode() : 0).isFalse();
                f = h2.next();
            }
            assertThat(f).as("END_STREAM on stream 1").isNotNull();
            h2.frame(RawH2.PING, 0, 0, new byte[8]);
            while ((f = h2.next()) != null && !(f.type() == RawH2.PING && (f.flags() & RawH2.ACK) != 0)) {
                assertThat(f.type() == RawH2.RST_STREAM && f.stream() == 1).as("stream 1 reset").isFalse();
            }
            assertThat(f).as("PING answered, the connection is still open").isNotNull();
        }
    }

    @Test
    void anUpstreamThatAnswersTheUpgradeWith200IsNotPassedOnAsAnOpenWebSocket() throws Exception {
        try (RawOrigin origin = new RawOrigin().on("/ws", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
             PorticoHarness p = PorticoHarness.proxyTo(origin.port(), "", "", "    websocket: {max_connections: 1}\n");
             RawH2 h2 = new RawH2(p.port())) {
            // Over HTTP/2 a 2xx to an extended CONNECT says the WebSocket is open (RFC 8441 section 5):
            // an origin that ignored the upgrade opened none, and its page is no WebSocket frames.
            h2.headers(1, extendedConnect("/ws"), false);
            assertThat(h2.response(1).status()).isEqualTo("502");

            // The refusal gave the only WebSocket slot back (503 otherwise), and the connection goes on.
            h2.headers(3, extendedConnect("/ws"), false);
            assertThat(h2.response(3).status()).isEqualTo("502");
            h2.headers(5, RawH2.request("GET", "/ws"), true);
            RawH2.Response plain = h2.response(5);
            assertThat(plain.status()).isEqualTo("200");
            assertThat(new String(plain.body(), StandardCharsets.UTF_8)).isEqualTo("plain");
        }
    }
}
