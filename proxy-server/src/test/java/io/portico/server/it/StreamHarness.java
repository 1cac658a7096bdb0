package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;

/** Starting Portico from a whole YAML text, and small socket helpers for the L4 tests. */
final class StreamHarness {

    private StreamHarness() {
    }

    /** Starts {@code yaml}; unless it configures one, the admin listener takes a free port (never 9901). */
    static PorticoServer start(String yaml) throws Exception {
        String withAdmin = yaml.contains("\nadmin:") || yaml.startsWith("admin:") ? yaml
                : yaml + (yaml.endsWith("\n") ? "" : "\n") + "admin:\n  address: 127.0.0.1:0\n";
        return PorticoServer.start(ConfigLoader.parse("test.yaml", withAdmin));
    }

    /**
     * The transport a test matrix names: {@code io_uring} where it works here, else {@code nio}
     * (a matrix naming io_uring covers it whatever {@code -Dportico.transport} makes of
     * {@code auto}, which the suite sets to epoll); any other name as it is.
     */
    static String transport(String name) {
        return name.equals("io_uring") && !io.netty.channel.uring.IoUring.isAvailable() ? "nio" : name;
    }

    static Socket connect(PorticoServer server, String listener) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), server.address(listener).getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    /** Everything until the peer's FIN. */
    static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** Exactly {@code n} bytes. */
    static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException("expected " + n + " bytes, got " + b.length + " before the end");
        }
        return b;
    }
}
