package io.portico.server.it;

import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.ReloadResult;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.portico.server.it.StreamHarness.connect;
import static io.portico.server.it.StreamHarness.readExactly;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A reload applies to tcp listeners as nginx's {@code stream} reload does: new connections get the
 * new upstreams and certificates, added listeners start, removed ones stop accepting and drain for
 * at most {@code shutdown_timeout}, and established relays carry on.
 */
class StreamReloadTest {

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closing.add(c);
        return c;
    }

    /** An origin that greets each connection with its name and a newline, then echoes. */
    static TcpOrigin named(String name) throws IOException {
        return new TcpOrigin(s -> {
            OutputStream out = s.getOutputStream();
            out.write((name + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        });
    }

    private static String greeting(Socket s) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = s.getInputStream().read()) != '\n') {
            if (c < 0) {
                throw new IOException("closed before the greeting");
            }
            sb.append((char) c);
        }
        return sb.toString();
    }

    /** Blocks until the peer ends the connection: true at its FIN or reset. */
    static boolean ended(Socket s) {
        try {
            return s.getInputStream().read() == -1;
        } catch (IOException reset) {
            return true;
        }
    }

    private static void assertEchoes(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        assertThat(new String(readExactly(s.getInputStream(), text.length()), StandardCharsets.US_ASCII)).isEqualTo(text);
    }

    static ReloadResult reload(PorticoServer server, String yaml) throws Exception {
        ReloadResult r = server.apply(ConfigLoader.parse("test.yaml", yaml + "admin:\n  address: 127.0.0.1:0\n"), "test.yaml");
        assertThat(r.ok()).as("%s", r.error()).isTrue();
        return r;
    }

    private static String oneListener(String extra, int backendPort) {
        return """
                workers: 2
                access_log: {enabled: false}
                listeners:
                  - name: tcp
                    address: 127.0.0.1:0
                    protocol: tcp
                    upstream: pool
                upstreams:
                  pool:
                %s
                    backends: [{address: "127.0.0.1:%d"}]
                """.formatted(extra, backendPort);
    }

    @Test
    void newConnectionsGoToTheReloadedGroupWhileAnEstablishedRelayKeepsItsBackend() throws Exception {
        TcpOrigin a = closeLater(named("A"));
        TcpOrigin b = closeLater(named("B"));
        PorticoServer portico = closeLater(StreamHarness.start(oneListener("", a.port())));
        Socket before = closeLater(connect(portico, "tcp"));
        assertThat(greeting(before)).isEqualTo("A");

        reload(portico, oneListener("    balance: least_conn", b.port()));

        try (Socket after = connect(portico, "tcp")) {
            assertThat(greeting(after)).isEqualTo("B");
            assertEchoes(after, "new");
        }
        // The relay from before the reload still runs, to A, and keeps its generation alive.
        assertEchoes(before, "still relayed");
        assertThat(a.connections.get()).isEqualTo(1);
        assertThat(portico.retiredGenerations()).isEqualTo(1);
        assertThat(portico.streamStats("tcp").connections()).as("counters carry over a reload").isEqualTo(2);
        before.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> portico.retiredGenerations() == 0);
    }

    @Test
    void newTlsClientsGetTheReloadedCertificateWhileAnEstablishedTlsRelayContinues(@TempDir Path dir) throws Exception {
        SelfSignedCertificate first = new SelfSignedCertificate("first.test", "EC", 256);
        SelfSignedCertificate second = new SelfSignedCertificate("second.test", "EC", 256);
        closeLater(first::delete);
        closeLater(second::delete);
        Path cert = dir.resolve("l4.crt");
        Path key = dir.resolve("l4.key");
        install(first, cert, key);
        TcpOrigin echo = closeLater(TcpOrigin.echo());
        String yaml = """
                workers: 2
                access_log: {enabled: false}
                tls: {watch_interval: 0s}
                listeners:
                  - name: tls
                    address: 127.0.0.1:0
                    protocol: tcp
                    upstream: echo
                    tls:
                      certificates: [{cert: "%s", key: "%s"}]
                upstreams:
                  echo: {backends: [{address: "127.0.0.1:%d"}]}
                """.formatted(cert, key, echo.port());
        PorticoServer portico = closeLater(StreamHarness.start(yaml));
        SSLSocket before = closeLater(tls(portico));
        assertThat(subject(before)).contains("CN=first.test");
        assertEchoes(before, "over tls");

        install(second, cert, key);
        reload(portico, yaml);

        try (SSLSocket after = tls(portico)) {
            assertThat(subject(after)).contains("CN=second.test");
            assertEchoes(after, "new certificate");
        }
        assertEchoes(before, "old connection");
    }

    @Test
    void newConnectionsFollowReloadedSniRoutes() throws Exception {
        TcpOrigin a = closeLater(named("A"));
        TcpOrigin b = closeLater(named("B"));
        String yaml = """
                workers: 2
                access_log: {enabled: false}
                listeners:
                  - name: sni
                    address: 127.0.0.1:0
                    protocol: tcp
                    upstream: b
                    stream:
                      sni_routes: {"app.example.test": %s}
                upstreams:
                  a: {backends: [{address: "127.0.0.1:%d"}]}
                  b: {backends: [{address: "127.0.0.1:%d"}]}
                """;
        PorticoServer portico = closeLater(StreamHarness.start(yaml.formatted("a", a.port(), b.port())));
        helloFor(portico, "app.example.test");
        await().atMost(Duration.ofSeconds(5)).until(() -> a.connections.get() == 1);

        reload(portico, yaml.formatted("b", a.port(), b.port()));

        helloFor(portico, "app.example.test");
        await().atMost(Duration.ofSeconds(5)).until(() -> b.connections.get() == 1);
        assertThat(a.connections.get()).isEqualTo(1);
    }

    /**
     * Sends a ClientHello naming {@code name} through an SNI-routing listener. The origins here
     * are not TLS servers, so the handshake fails; which origin got the connection is what counts.
     */
    private static void helloFor(PorticoServer portico, String name) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                portico.address("sni").getPort())) {
            s.setSoTimeout(5_000);
            javax.net.ssl.SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new javax.net.ssl.SNIHostName(name)));
            s.setSSLParameters(p);
            assertThatThrownBy(s::startHandshake).isInstanceOf(IOException.class);
        }
    }

    @Test
    void anAddedListenerStartsAndARemovedOneStopsAcceptingWhileItsRelayDrainsForTheShutdownTimeout() throws Exception {
        TcpOrigin echo = closeLater(named("E"));
        PorticoServer portico = closeLater(StreamHarness.start(listeners(List.of("old", "kept"), echo.port())));
        int oldPort = portico.address("old").getPort();
        Socket relay = closeLater(connect(portico, "old"));
        assertThat(greeting(relay)).isEqualTo("E");

        ReloadResult r = reload(portico, "shutdown_timeout: 1s\n" + listeners(List.of("kept", "added"), echo.port()));

        assertThat(r.changes()).anyMatch(c -> c.startsWith("listener old removed"))
                .anyMatch(c -> c.startsWith("listener added added"));
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), oldPort).close())
                .isInstanceOf(ConnectException.class);
        try (Socket added = connect(portico, "added"); Socket kept = connect(portico, "kept")) {
            assertThat(greeting(added)).isEqualTo("E");
            assertThat(greeting(kept)).isEqualTo("E");
        }
        // The removed listener's relay carries on, until the drain time (1s) is over.
        assertEchoes(relay, "draining");
        long start = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> ended(relay));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofMillis(300));
    }

    @Test
    void aListenerMovedToAnotherAddressAcceptsThereAndTheOldAddressStops() throws Exception {
        TcpOrigin echo = closeLater(named("E"));
        PorticoServer portico = closeLater(StreamHarness.start(oneListener("", echo.port())));
        int oldPort = portico.address("tcp").getPort();
        Socket relay = closeLater(connect(portico, "tcp"));
        assertThat(greeting(relay)).isEqualTo("E");

        ReloadResult r = reload(portico, oneListener("", echo.port()).replace("127.0.0.1:0", "127.0.0.2:0"));

        assertThat(r.changes()).anyMatch(c -> c.startsWith("listener tcp moved to 127.0.0.2:0"));
        assertThat(portico.address("tcp").getAddress().getHostAddress()).isEqualTo("127.0.0.2");
        try (Socket moved = new Socket(portico.address("tcp").getAddress(), portico.address("tcp").getPort())) {
            moved.setSoTimeout(10_000);
            assertThat(greeting(moved)).isEqualTo("E");
        }
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), oldPort).close())
                .isInstanceOf(ConnectException.class);
        assertEchoes(relay, "from before the move");
    }

    private static String udpListeners(List<String> names, int port) {
        StringBuilder sb = new StringBuilder("""
                workers: 2
                access_log: {enabled: false}
                listeners:
                """);
        for (String n : names) {
            sb.append("  - {name: ").append(n).append(", address: \"127.0.0.1:0\", protocol: udp, upstream: dns}\n");
        }
        return sb.append("""
                upstreams:
                  dns: {backends: [{address: "127.0.0.1:%d"}]}
                """.formatted(port)).toString();
    }

    @Test
    void newUdpSessionsGoToTheReloadedGroupWhileAnOpenSessionKeepsItsBackend() throws Exception {
        UdpOrigin a = closeLater(new UdpOrigin("A"));
        UdpOrigin b = closeLater(new UdpOrigin("B"));
        PorticoServer portico = closeLater(StreamHarness.start(udpListeners(List.of("udp"), a.port())));
        DatagramSocket old = closeLater(UdpOrigin.client(5000));
        assertThat(UdpOrigin.exchange(old, portico.address("udp"), "1")).isEqualTo("A:1");

        reload(portico, udpListeners(List.of("udp"), b.port()));

        try (DatagramSocket fresh = UdpOrigin.client(5000)) {
            assertThat(UdpOrigin.exchange(fresh, portico.address("udp"), "2")).isEqualTo("B:2");
        }
        assertThat(UdpOrigin.exchange(old, portico.address("udp"), "3")).isEqualTo("A:3");
        assertThat(portico.udpSessions("udp")).isEqualTo(2);
    }

    @Test
    void aRemovedUdpListenerServesItsSessionsUntilTheDrainTimeButOpensNoNewOnes() throws Exception {
        UdpOrigin a = closeLater(new UdpOrigin("A"));
        PorticoServer portico = closeLater(StreamHarness.start(udpListeners(List.of("gone", "kept"), a.port())));
        InetSocketAddress gone = portico.address("gone");
        DatagramSocket old = closeLater(UdpOrigin.client(5000));
        assertThat(UdpOrigin.exchange(old, gone, "1")).isEqualTo("A:1");

        reload(portico, "shutdown_timeout: 1s\n" + udpListeners(List.of("kept"), a.port()));

        assertThat(UdpOrigin.exchange(old, gone, "2")).isEqualTo("A:2");
        int seen = a.datagrams.get();
        try (DatagramSocket fresh = UdpOrigin.client(300)) {
            assertThat(UdpOrigin.exchange(fresh, gone, "new")).isNull();
        }
        assertThat(a.datagrams.get()).isEqualTo(seen);
        // After the drain time the socket is closed: the session gets no answer any more.
        old.setSoTimeout(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> UdpOrigin.exchange(old, gone, "late") == null);
        try (DatagramSocket kept = UdpOrigin.client(5000)) {
            assertThat(UdpOrigin.exchange(kept, portico.address("kept"), "k")).isEqualTo("A:k");
        }
    }

    private static String listeners(List<String> names, int port) {
        StringBuilder sb = new StringBuilder("""
                workers: 2
                access_log: {enabled: false}
                listeners:
                """);
        for (String n : names) {
            sb.append("  - {name: ").append(n).append(", address: \"127.0.0.1:0\", protocol: tcp, upstream: echo}\n");
        }
        return sb.append("""
                upstreams:
                  echo: {backends: [{address: "127.0.0.1:%d"}]}
                """.formatted(port)).toString();
    }

    private static void install(SelfSignedCertificate c, Path cert, Path key) throws IOException {
        Files.copy(c.certificate().toPath(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(c.privateKey().toPath(), key, StandardCopyOption.REPLACE_EXISTING);
    }

    private static SSLSocket tls(PorticoServer portico) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
                portico.address("tls").getPort());
        s.setSoTimeout(10_000);
        s.startHandshake();
        return s;
    }

    private static String subject(SSLSocket s) throws Exception {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
    }
}
