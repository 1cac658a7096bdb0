package io.portico.server.it;

import io.portico.server.PorticoServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.portico.server.it.StreamHarness.connect;
import static io.portico.server.it.StreamHarness.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The PROXY protocol: accepted from trusted peers on stream and HTTP listeners (and refused from
 * anyone else), and sent, v1 or v2, to stream and HTTP upstream groups.
 */
class ProxyProtocolTest {

    private static final String V1_HEADER = "PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n";

    /** A v2 header for 203.0.113.9:40001 -> 198.51.100.2:8443. */
    private static byte[] v2Header() {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.put((byte) 0x21).put((byte) 0x11).putShort((short) 12);
        b.put(new byte[] {(byte) 203, 0, 113, 9}).put(new byte[] {(byte) 198, 51, 100, 2});
        b.putShort((short) 40001).putShort((short) 8443);
        return b.array();
    }

    /**
     * Reads a PROXY header (v1 or v2) off a backend connection and returns "version source:port".
     */
    static String readProxyHeader(InputStream raw) throws IOException {
        DataInputStream in = new DataInputStream(raw);
        int first = in.readUnsignedByte();
        if (first == 'P') {
            StringBuilder line = new StringBuilder("P");
            int c;
            while ((c = in.read()) != '\n') {
                if (c < 0) {
                    throw new IOException("end of stream in a v1 header");
                }
                line.append((char) c);
            }
            String[] parts = line.toString().trim().split(" ");
            return "v1 " + parts[2] + ":" + parts[4];
        }
        byte[] rest = new byte[15];
        in.readFully(rest);
        // rest: the signature's other 11 bytes, version and command, family, then the length.
        int family = rest[12] & 0xFF;
        int length = ((rest[13] & 0xFF) << 8) | (rest[14] & 0xFF);
        byte[] addresses = new byte[length];
        in.readFully(addresses);
        if (family != 0x11) {
            return "v2 family " + family;
        }
        String source = InetAddress.getByAddress(java.util.Arrays.copyOfRange(addresses, 0, 4)).getHostAddress();
        int port = ((addresses[8] & 0xFF) << 8) | (addresses[9] & 0xFF);
        return "v2 " + source + ":" + port;
    }

    /** A TCP origin that reads the PROXY header, answers with what it said, then echoes. */
    static TcpOrigin proxyAwareOrigin() throws IOException {
        return new TcpOrigin(s -> {
            String header = readProxyHeader(s.getInputStream());
            OutputStream out = s.getOutputStream();
            out.write((header + "\n").getBytes(StandardCharsets.US_ASCII));
            s.getInputStream().transferTo(out);
            s.shutdownOutput();
        });
    }

    static String streamConfig(String trusted, String send, int originPort) {
        return """
                workers: 2
                access_log: {enabled: false}
                listeners:
                  - name: tcp
                    address: 127.0.0.1:0
                    protocol: tcp
                    upstream: origin
                    proxy_protocol:
                      accept: true
                      trusted: [%s]
                upstreams:
                  origin:
                    proxy_protocol: %s
                    backends:
                      - address: 127.0.0.1:%d
                """.formatted(trusted, send, originPort);
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void aTrustedV1HeaderIsAcceptedAndItsAddressSentOnAsHeader(String send) throws Exception {
        try (TcpOrigin origin = proxyAwareOrigin();
             PorticoServer portico = StreamHarness.start(streamConfig("127.0.0.0/8", send, origin.port()));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write((V1_HEADER + "ping").getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readAll(s.getInputStream()), StandardCharsets.US_ASCII))
                    .isEqualTo(send + " 203.0.113.7:40000\nping");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void aTrustedV2HeaderIsAcceptedAndItsAddressSentOnAsHeader(String send) throws Exception {
        try (TcpOrigin origin = proxyAwareOrigin();
             PorticoServer portico = StreamHarness.start(streamConfig("127.0.0.1/32", send, origin.port()));
             Socket s = connect(portico, "tcp")) {
            OutputStream out = s.getOutputStream();
            out.write(v2Header());
            out.write("pong".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readAll(s.getInputStream()), StandardCharsets.US_ASCII))
                    .isEqualTo(send + " 203.0.113.9:40001\npong");
        }
    }

    @Test
    void withoutAHeaderTheSocketPeerIsSentOn() throws Exception {
        try (TcpOrigin origin = proxyAwareOrigin();
             PorticoServer portico = StreamHarness.start(streamConfig("10.9.9.9/32", "v2", origin.port()));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readAll(s.getInputStream()), StandardCharsets.US_ASCII))
                    .isEqualTo("v2 127.0.0.1:" + s.getLocalPort() + "\nhi");
        }
    }

    @Test
    void aHeaderFromAnUntrustedPeerIsRefusedAndNeverForwarded() throws Exception {
        CompletableFuture<String> originGot = new CompletableFuture<>();
        try (TcpOrigin origin = new TcpOrigin(s -> originGot.complete(new String(readAll(s.getInputStream()),
                     StandardCharsets.US_ASCII)));
             PorticoServer portico = StreamHarness.start(streamConfig("10.9.9.9/32", "off", origin.port()));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write((V1_HEADER + "sneaky").getBytes(StandardCharsets.US_ASCII));
            assertThat(readAll(s.getInputStream())).isEmpty();
            assertThat(portico.streamStats("tcp").rejectedCount()).isEqualTo(1);
            // The relay may have opened the backend connection already; it never saw the header.
            if (origin.connections.get() > 0) {
                assertThat(originGot.get(10, TimeUnit.SECONDS)).isEmpty();
            }
        }
    }

    /**
     * An untrusted client's first bytes are too few to tell from the start of a header, and then
     * its input ends (a FIN, which with half_close off closes the connection): they can no longer
     * become one, so they reach the backend, which also sees the end.
     */
    @ParameterizedTest
    @CsvSource({"CRLF, on", "CRLF, off", "PROX, on", "PROX, off"})
    void anUntrustedClientsFirstBytesTooFewToTellReachTheBackendWhenItsInputEnds(String bytes, String halfClose)
            throws Exception {
        // CR LF starts the v2 signature, PROX the v1 one.
        String first = bytes.equals("CRLF") ? "\r\n" : bytes;
        CompletableFuture<String> originGot = new CompletableFuture<>();
        try (TcpOrigin origin = new TcpOrigin(s -> originGot.complete(new String(readAll(s.getInputStream()),
                     StandardCharsets.US_ASCII)));
             PorticoServer portico = StreamHarness.start(streamConfig("10.9.9.9/32", "off", origin.port())
                     .replace("    upstream: origin\n", "    upstream: origin\n    stream: {half_close: " + halfClose + "}\n"));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write(first.getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(originGot.get(10, TimeUnit.SECONDS)).isEqualTo(first);
            assertThat(readAll(s.getInputStream())).isEmpty();
        }
    }

    /** RFC 9112 2.2: a request may follow an empty line; from an untrusted peer that line is held, then passed on. */
    @Test
    void anHttpListenerServesAnUntrustedClientWhoseRequestFollowsAnEmptyLine() throws Exception {
        try (TestOrigin origin = new TestOrigin("o");
             PorticoServer portico = StreamHarness.start("""
                     workers: 2
                     access_log: {enabled: false}
                     listeners:
                       - name: http
                         address: 127.0.0.1:0
                         proxy_protocol: {accept: true, trusted: [10.9.9.9/32]}
                     upstreams:
                       origin:
                         backends: [{address: 127.0.0.1:%d}]
                     servers:
                       - routes: [{match: {prefix: /}, upstream: origin}]
                     """.formatted(origin.port()));
             Socket s = connect(portico, "http")) {
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            out.write("GET /hello HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String response = new String(readAll(s.getInputStream()), StandardCharsets.ISO_8859_1);
            assertThat(response).startsWith("HTTP/1.1 200");
            assertThat(origin.lastHead().headers().get("X-Forwarded-For")).isEqualTo("127.0.0.1");
        }
    }

    @Test
    void aTrustedPeerMustSendTheHeader() throws Exception {
        try (TcpOrigin origin = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(streamConfig("127.0.0.1/32", "off", origin.port()));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readAll(s.getInputStream())).isEmpty();
            assertThat(origin.connections.get()).isZero();
        }
    }

    /**
     * A trusted peer whose header is refused, or never comes within the preread timeout, is logged
     * with its socket address, the time it connected and how long it took, as any other session.
     */
    @ParameterizedTest
    @ValueSource(strings = {"PROXY NONSENSE\r\n", ""})
    void aTrustedPeerWhoseHeaderIsRefusedIsLoggedWithItsAddressAndTime(String header, @TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        long before = System.currentTimeMillis();
        try (TcpOrigin origin = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(streamConfig("127.0.0.1/32", "off", origin.port())
                     .replace("access_log: {enabled: false}", "access_log: {path: " + log + "}")
                     .replace("    upstream: origin\n", "    upstream: origin\n    stream: {preread_timeout: 300ms}\n"));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write(header.getBytes(StandardCharsets.US_ASCII));
            assertThat(readAll(s.getInputStream())).isEmpty();
            String line = awaitLine(portico, log);
            assertThat(line).startsWith("127.0.0.1 [").contains(" TCP 403 0 0 ").endsWith(" end=proxy_protocol_rejected");
            Matcher m = Pattern.compile("^\\S+ \\[([^]]+)] TCP 403 0 0 (\\d+\\.\\d+) ").matcher(line);
            assertThat(m.find()).as(line).isTrue();
            ZonedDateTime start = ZonedDateTime.parse(m.group(1), DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.US));
            assertThat(start.toInstant().toEpochMilli()).isBetween(before - 1000, System.currentTimeMillis());
            assertThat(Double.parseDouble(m.group(2))).isLessThan(10.0);
            assertThat(origin.connections.get()).isZero();
        }
    }

    /** The one line of a stream listener's access log, once written. */
    static String awaitLine(PorticoServer portico, Path log) {
        String[] line = new String[1];
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            portico.accessLog().flush();
            if (!Files.exists(log)) {
                return false;
            }
            line[0] = Files.readString(log).strip();
            return !line[0].isEmpty();
        });
        return line[0];
    }

    @Test
    void anHttpListenerTakesTheClientAddressFromATrustedHeader() throws Exception {
        try (TestOrigin origin = new TestOrigin("o");
             PorticoServer portico = StreamHarness.start("""
                     workers: 2
                     access_log: {enabled: false}
                     listeners:
                       - name: http
                         address: 127.0.0.1:0
                         proxy_protocol: {accept: true, trusted: [127.0.0.1/32]}
                     upstreams:
                       origin:
                         backends: [{address: 127.0.0.1:%d}]
                     servers:
                       - routes: [{match: {prefix: /}, upstream: origin}]
                     """.formatted(origin.port()));
             Socket s = connect(portico, "http")) {
            s.getOutputStream().write((V1_HEADER + "GET /hello HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String response = new String(readAll(s.getInputStream()), StandardCharsets.ISO_8859_1);
            assertThat(response).startsWith("HTTP/1.1 200");
            assertThat(origin.lastHead().headers().get("X-Forwarded-For")).isEqualTo("203.0.113.7");
            assertThat(origin.lastHead().headers().get("Forwarded")).contains("for=203.0.113.7");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"v1", "v2"})
    void anHttpUpstreamGroupGetsTheHeaderOnEveryConnection(String send) throws Exception {
        try (TcpOrigin origin = new TcpOrigin(s -> {
                 String header = readProxyHeader(s.getInputStream());
                 InputStream in = s.getInputStream();
                 // Read the request head, then answer with the header's address.
                 StringBuilder head = new StringBuilder();
                 while (!head.toString().endsWith("\r\n\r\n")) {
                     int c = in.read();
                     if (c < 0) {
                         return;
                     }
                     head.append((char) c);
                 }
                 byte[] body = (header + " " + head.toString().lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("x-forwarded-for"))
                         .findFirst().orElse("").toLowerCase(java.util.Locale.ROOT)).getBytes(StandardCharsets.US_ASCII);
                 s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n")
                         .getBytes(StandardCharsets.US_ASCII));
                 s.getOutputStream().write(body);
             });
             PorticoServer portico = StreamHarness.start("""
                     workers: 2
                     access_log: {enabled: false}
                     listeners:
                       - name: http
                         address: 127.0.0.1:0
                         proxy_protocol: {accept: true, trusted: [127.0.0.1/32]}
                     upstreams:
                       origin:
                         proxy_protocol: %s
                         backends: [{address: 127.0.0.1:%d}]
                     servers:
                       - routes: [{match: {prefix: /}, upstream: origin}]
                     """.formatted(send, origin.port()))) {
            for (int i = 0; i < 2; i++) {
                try (Socket s = connect(portico, "http")) {
                    s.getOutputStream().write((V1_HEADER + "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    String response = new String(readAll(s.getInputStream()), StandardCharsets.ISO_8859_1);
                    assertThat(response).startsWith("HTTP/1.1 200")
                            .endsWith("\r\n\r\n" + send + " 203.0.113.7:40000 x-forwarded-for: 203.0.113.7");
                }
            }
            assertThat(origin.connections.get()).isEqualTo(2);
        }
    }
}
