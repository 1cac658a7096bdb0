package io.portico.server.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A connection Portico ends while the client is still sending (a 413 in the middle of an upload,
 * a 400 for a request it refused) is closed the way nginx's lingering close does it: the response,
 * then a FIN, and what the client still sends is read and dropped. Closed at once, the socket
 * would answer those bytes with a reset, which on many client stacks throws away the response the
 * client had not read yet; here the client keeps writing without error and then reads the end.
 */
class LingeringCloseTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("linger");
        portico = PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - max_body_size: 16k
                    routes:
                      - match: { prefix: / }
                        upstream: origin
                """.formatted(origin.port()));
    }

    @AfterAll
    static void stop() {
        portico.close();
        origin.close();
    }

    @Test
    void anUploadRefusedWith413HalfwayLetsTheClientFinishSendingAndThenEnds() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = chunk(32 * 1024);
            out.write(chunk);
            out.flush();
            assertThat(WebSocketProxyingTest.readHead(in)).startsWith("HTTP/1.1 413");
            keepsTakingAndThenEnds(s, chunk);
        }
    }

    @Test
    void aBodyRefusedWith413ForItsContentLengthLetsTheClientSendItAndThenEnds() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 4194304\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(WebSocketProxyingTest.readHead(in)).startsWith("HTTP/1.1 413");
            keepsTakingAndThenEnds(s, new byte[32 * 1024]);
        }
    }

    @Test
    void aRequestRefusedWith400LetsTheClientFinishSendingAndThenEnds() throws Exception {
        try (Socket s = new Socket("127.0.0.1", portico.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            // obs-fold: refused by the framing check.
            out.write("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(WebSocketProxyingTest.readHead(in)).startsWith("HTTP/1.1 400");
            keepsTakingAndThenEnds(s, new byte[32 * 1024]);
        }
    }

    /** 4 MiB more from the client go without a reset; once it has shut its side, Portico's end comes. */
    private static void keepsTakingAndThenEnds(Socket s, byte[] block) throws Exception {
        OutputStream out = s.getOutputStream();
        for (int i = 0; i < 128; i++) {
            out.write(block);
        }
        out.flush();
        s.shutdownOutput();
        InputStream in = s.getInputStream();
        // The rest of the response's body, then the end of the stream (a reset would throw here).
        while (in.read() >= 0) {
            // drained
        }
    }

    private static byte[] chunk(int size) {
        byte[] head = (Integer.toHexString(size) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] c = new byte[head.length + size + 2];
        System.arraycopy(head, 0, c, 0, head.length);
        java.util.Arrays.fill(c, head.length, head.length + size, (byte) 'x');
        c[c.length - 2] = '\r';
        c[c.length - 1] = '\n';
        return c;
    }
}
