package io.portico.server.it;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.portico.server.PorticoServer;
import io.portico.server.ReloadResult;
import io.portico.server.admin.AdminClient;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.DemoOriginConfig;
import io.portico.server.config.HostPort;
import io.portico.server.demo.DemoOrigin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Hot reload through {@code POST /reload}: under load nothing fails and no WebSocket closes; a bad
 * file changes nothing; listeners come and go; each connection keeps the config it started with.
 */
class ReloadTest {

    @TempDir
    Path dir;
    Path file;
    EventLoopGroup originLoop;
    DemoOrigin echo;
    PorticoServer server;
    AdminClient admin;

    @BeforeEach
    void start() throws Exception {
        originLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        echo = DemoOrigin.start(new DemoOriginConfig(true, new HostPort("127.0.0.1", 0)), originLoop,
                NioServerSocketChannel.class);
        file = dir.resolve("portico.yaml");
        write(config(0, echo.address().getPort(), ""));
        server = PorticoServer.start(ConfigLoader.load(file), file);
        admin = new AdminClient(server.adminAddress(), null);
    }

    @AfterEach
    void stop() {
        server.close();
        echo.close();
        originLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A config whose responses carry {@code X-Generation: gen}; {@code extra} is appended at the top level. */
    private static String config(int gen, int originPort, String extraListeners) {
        return """
                workers: 2
                admin: {address: "127.0.0.1:0"}
                access_log: {enabled: false}
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                %s
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes:
                      - match: {prefix: /}
                        upstream: echo
                        response_headers: {set: {X-Generation: "%d"}}
                """.formatted(extraListeners, originPort, gen);
    }

    /** The config generation that answers a request on 127.0.0.1:{@code port} (its X-Generation). */
    private static java.util.Optional<String> generationAt(int port) throws Exception {
        return PorticoHarness.client().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).build(),
                HttpResponse.BodyHandlers.ofString()).headers().firstValue("x-generation");
    }

    private void write(String yaml) throws Exception {
        Files.writeString(file, yaml);
    }

    private ReloadResult reloadThroughAdmin() throws Exception {
        HttpResponse<String> r = admin.post("/reload");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("\"ok\":true");
        return server.lastReload();
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address("http").getPort() + path);
    }

    @Test
    void twentyReloadsUnderLoadFailNoRequestAndCloseNoWebSocket() throws Exception {
        int port = echo.address().getPort();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong ok = new AtomicLong();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        URI target = uri("/");
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            clients.add(pool.submit(() -> {
                HttpClient http = PorticoHarness.client();
                while (running.get()) {
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10))
                                .build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) {
                            ok.incrementAndGet();
                        } else {
                            failures.add("status " + r.statusCode());
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            }));
        }
        List<WebSocket> sockets = new ArrayList<>();
        List<WebSocketProxyingTest.Listener> listeners = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            WebSocketProxyingTest.Listener l = new WebSocketProxyingTest.Listener();
            sockets.add(HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + server.address("http").getPort() + "/ws"), l).join());
            listeners.add(l);
        }
        try {
            for (int gen = 1; gen <= 20; gen++) {
                long before = ok.get();
                write(config(gen, port, ""));
                ReloadResult result = reloadThroughAdmin();
                assertThat(result.generation()).isEqualTo(gen + 1);
                for (int i = 0; i < sockets.size(); i++) {
                    sockets.get(i).sendText("ping " + gen + " " + i, true).join();
                    assertThat(listeners.get(i).nextWhole()).isEqualTo("ping " + gen + " " + i);
                }
                // Traffic keeps flowing between reloads.
                await().atMost(Duration.ofSeconds(10)).until(() -> ok.get() > before);
            }
        } finally {
            running.set(false);
            for (Future<?> f : clients) {
                f.get(30, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }
        assertThat(failures).isEmpty();
        assertThat(ok.get()).isGreaterThan(20);
        for (WebSocketProxyingTest.Listener l : listeners) {
            assertThat(l.closed).isNotDone();
        }
        for (WebSocket ws : sockets) {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
        }
        for (WebSocketProxyingTest.Listener l : listeners) {
            assertThat(l.closed.get(10, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);
        }
        HttpResponse<String> fresh = PorticoHarness.client().send(HttpRequest.newBuilder(uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(fresh.headers().firstValue("x-generation")).hasValue("20");
        assertThat(admin.scrape().sum("portico_config_reloads_total", "result=ok")).isEqualTo(20);
    }

    @Test
    void aKeepAliveConnectionFinishesItsRequestOnTheOldConfigThenClosesSoTheOldGenerationCanClose()
            throws Exception {
        int port = server.address("http").getPort();
        try (RawHttp idle = new RawHttp(port); RawHttp busy = new RawHttp(port)) {
            assertThat(idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().header("x-generation")).isEqualTo("0");
            busy.send("GET /delay/700 HTTP/1.1\r\nHost: a\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> server.lifecycle().inFlight() == 1);
            write(config(1, echo.address().getPort(), ""));
            reloadThroughAdmin();

            // The request in flight finishes on the config it started with, then its connection closes.
            RawHttp.Response slow = busy.read();
            assertThat(slow.status()).isEqualTo(200);
            assertThat(slow.header("x-generation")).isEqualTo("0");
            assertThat(slow.header("connection")).isEqualTo("close");
            assertThat(busy.closedByServer()).isTrue();
            // The idle one closes at once: its client's next request comes on a new connection.
            assertThat(idle.closedByServer()).isTrue();
            try (RawHttp fresh = new RawHttp(port)) {
                assertThat(fresh.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().header("x-generation"))
                        .isEqualTo("1");
                // Nothing holds the replaced generation (pools, timers) open any more.
                await().atMost(Duration.ofSeconds(10)).until(() -> server.retiredGenerations() == 0);
            }
        }
    }

    @Test
    void anHttp2ConnectionFinishesItsStreamOnTheOldConfigBetweenTwoGoAwaysThenCloses() throws Exception {
        try (RawH2 h2 = new RawH2(server.address("http").getPort())) {
            h2.headers(1, RawH2.get("/"), true);
            assertThat(h2.response(1).headers().get("x-generation").toString()).isEqualTo("0");
            h2.headers(3, RawH2.get("/delay/700"), true);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.lifecycle().inFlight() == 1);
            write(config(1, echo.address().getPort(), ""));
            reloadThroughAdmin();

            RawH2.Frame first = h2.awaitGoAway();
            assertThat(first.errorCode()).isZero();
            assertThat(first.lastStreamId()).isEqualTo(Integer.MAX_VALUE);
            RawH2.Frame second = h2.awaitGoAway();
            assertThat(second.errorCode()).isZero();
            assertThat(second.lastStreamId()).isEqualTo(3);
            RawH2.Response r = h2.response(3);
            assertThat(r.status()).isEqualTo("200");
            assertThat(r.headers().get("x-generation").toString()).isEqualTo("0");
            assertThat(h2.closedByServer()).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> server.retiredGenerations() == 0);
        }
    }

    @Test
    void aBadFileIsRefusedWithFileLineAndKeyAndTheRunningConfigKeepsServing() throws Exception {
        write(config(1, echo.address().getPort(), "").replace("address: 127.0.0.1:0\n",
                "address: 127.0.0.1:0\n    backlgo: 10\n"));
        HttpResponse<String> r = admin.post("/reload");
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(r.body()).contains("\"ok\":false", file + ":7: listeners[0].backlgo: unknown key 'backlgo'");
        assertThat(server.generation()).isEqualTo(1);
        HttpResponse<String> still = PorticoHarness.client().send(HttpRequest.newBuilder(uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(still.statusCode()).isEqualTo(200);
        assertThat(still.headers().firstValue("x-generation")).hasValue("0");
        assertThat(admin.scrape().sum("portico_config_reloads_total", "result=failed")).isEqualTo(1);

        // A file that parses but names a certificate that is not there is refused too, naming the key.
        write(config(1, echo.address().getPort(), """
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: /nonexistent/c.pem, key: /nonexistent/k.pem}]
                """));
        HttpResponse<String> tls = admin.post("/reload");
        assertThat(tls.statusCode()).isEqualTo(422);
        assertThat(tls.body()).contains("listeners[1].tls");
        assertThat(server.generation()).isEqualTo(1);
        assertThat(server.listenerAddresses()).containsOnlyKeys("http");
    }

    @Test
    void aReloadThatAddsAListenerStartsItAndOneThatRemovesItStopsIt() throws Exception {
        write(config(1, echo.address().getPort(), """
                  - name: extra
                    address: 127.0.0.1:0
                """));
        ReloadResult added = reloadThroughAdmin();
        assertThat(added.changes()).anySatisfy(c -> assertThat(c).startsWith("listener extra added"));
        int extraPort = server.address("extra").getPort();
        HttpResponse<String> viaExtra = PorticoHarness.client().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + extraPort + "/")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(viaExtra.statusCode()).isEqualTo(200);
        assertThat(viaExtra.headers().firstValue("x-generation")).hasValue("1");

        try (RawHttp idle = new RawHttp(extraPort)) {
            assertThat(idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            write(config(2, echo.address().getPort(), ""));
            ReloadResult removed = reloadThroughAdmin();
            assertThat(removed.changes()).anySatisfy(c -> assertThat(c).startsWith("listener extra removed"));
            // Its idle keep-alive connection is closed as in a drain, and it accepts no more.
            assertThat(idle.closedByServer()).isTrue();
        }
        assertThatThrownBy(() -> new Socket("127.0.0.1", extraPort).close()).isInstanceOf(ConnectException.class);
        assertThat(server.listenerAddresses()).containsOnlyKeys("http");
    }

    @Test
    void aNewListenerOnAPortInUseIsRefusedAndChangesNothing() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            write(config(1, echo.address().getPort(), """
                      - name: extra
                        address: 127.0.0.1:%d
                    """.formatted(taken.getLocalPort())));
            HttpResponse<String> r = admin.post("/reload");
            assertThat(r.statusCode()).isEqualTo(422);
            assertThat(r.body()).contains(file + ": listeners[1].address:");
        }
        assertThat(server.generation()).isEqualTo(1);
        assertThat(server.listenerAddresses()).containsOnlyKeys("http");
        HttpResponse<String> still = PorticoHarness.client().send(HttpRequest.newBuilder(uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(still.headers().firstValue("x-generation")).hasValue("0");
    }

    /**
     * A reload refused because a listener's new sockets could not bind, or because another
     * listener's could not (the ones that did bind are closed again), leaves the running listener's
     * accepting gate in view: {@code gate(name)} counts the connections its sockets accepted, and a
     * listener the refused config would have added has none. It showed the gate made for the new
     * sockets, which never bound or were closed again (0 open), and kept one for the listener that
     * was never added.
     */
    @Test
    void aRefusedReloadLeavesTheRunningListenersGateInView() throws Exception {
        int port = server.address("http").getPort();
        int free;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            free = probe.getLocalPort();
        }
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             RawHttp keptAlive = new RawHttp(port)) {
            assertThat(keptAlive.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 1);

            // The listener moves onto a port in use: its new sockets never bind.
            write(config(1, echo.address().getPort(), "").replace("address: 127.0.0.1:0\n",
                    "address: 127.0.0.1:" + taken.getLocalPort() + "\n"));
            HttpResponse<String> moved = admin.post("/reload");
            assertThat(moved.statusCode()).as(moved.body()).isEqualTo(422);
            assertThat(moved.body()).contains(file + ": listeners[0].address:");
            assertThat(server.gate("http").open()).isEqualTo(1);

            // It moves to a free port (those sockets bind) while a listener added after it cannot bind.
            write(config(1, echo.address().getPort(), """
                      - name: extra
                        address: 127.0.0.1:%d
                    """.formatted(taken.getLocalPort())).replace("address: 127.0.0.1:0\n",
                    "address: 127.0.0.1:" + free + "\n"));
            HttpResponse<String> undone = admin.post("/reload");
            assertThat(undone.statusCode()).as(undone.body()).isEqualTo(422);
            assertThat(undone.body()).contains(file + ": listeners[1].address:");
            assertThat(server.address("http").getPort()).isEqualTo(port);
            assertThat(server.gate("http").open()).isEqualTo(1);
            assertThat(server.gate("extra")).isNull();

            // The kept-alive connection is still the running listener's, and still served.
            assertThat(keptAlive.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().header("x-generation"))
                    .isEqualTo("0");
        }
        assertThat(server.generation()).isEqualTo(1);
    }

    /** The http listener's limits line, for {@link #config}'s listener extra. */
    private static String limits(String caps) {
        return "    limits: {" + caps + "}\n";
    }

    /**
     * A reload that changes only a listener's {@code limits.max_connections} applies it to the
     * running listener (its sockets and its count stay): raised, the client waiting in the backlog
     * is let in at once; lowered under the open count, nothing is closed and new clients wait until
     * enough have closed. The WebSockets hold their connections across the reloads. The listener
     * kept its gate with the caps it was bound with: the change was reported nowhere and did nothing.
     */
    @Test
    void aReloadThatChangesOnlyMaxConnectionsAppliesItToTheRunningListenerAndClosesNothing() throws Exception {
        int port = server.address("http").getPort();
        int origin = echo.address().getPort();
        write(config(1, origin, limits("max_connections: 1")));
        assertThat(reloadThroughAdmin().changes()).contains("listener http: limits.max_connections 1 (was none)");
        assertThat(server.address("http").getPort()).as("kept its sockets").isEqualTo(port);
        try (RawWebSocket a = RawWebSocket.open(port)) {
            a.assertUpgraded();
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 1
                    && server.gate("http").paused());
            try (RawWebSocket b = RawWebSocket.open(port)) {
                b.assertWaiting();

                write(config(2, origin, limits("max_connections: 2")));
                assertThat(reloadThroughAdmin().changes()).contains("listener http: limits.max_connections 2 (was 1)");
                b.assertUpgraded();
                a.assertEchoes("a after raising");
                b.assertEchoes("b after raising");
                await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 2
                        && server.gate("http").paused());
                try (RawWebSocket c = RawWebSocket.open(port)) {
                    c.assertWaiting();

                    write(config(3, origin, limits("max_connections: 1")));
                    assertThat(reloadThroughAdmin().changes()).contains("listener http: limits.max_connections 1"
                            + " (was 2); its 2 open connections stay open, and it accepts no new one until fewer"
                            + " than 1 are");
                    a.assertEchoes("a after lowering");
                    b.assertEchoes("b after lowering");
                    c.assertWaiting();
                    b.close();
                    await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 1);
                    // One open is still not fewer than the cap of 1.
                    c.assertWaiting();
                    a.assertEchoes("a still");
                    a.close();
                    c.assertUpgraded();
                    c.assertEchoes("c at last");
                }
            }
        }
    }

    /**
     * The same for {@code limits.max_connections_per_ip}, set by a reload over a connection opened
     * while there was none: it counts (every address is counted, capped or not). Over the cap a new
     * connection is closed at once; the ones open stay open whatever the cap becomes.
     */
    @Test
    void aReloadThatChangesOnlyMaxConnectionsPerIpAppliesItCountingTheConnectionsAlreadyOpen() throws Exception {
        int port = server.address("http").getPort();
        int origin = echo.address().getPort();
        try (RawWebSocket a = RawWebSocket.open(port)) {
            a.assertUpgraded();
            write(config(1, origin, limits("max_connections_per_ip: 1")));
            assertThat(reloadThroughAdmin().changes()).contains("listener http: limits.max_connections_per_ip 1"
                    + " (was none); open connections stay open and count against it, a client address at it gets"
                    + " no new one");
            assertClosedAtOnce(port);
            assertThat(server.gate("http").refusedPerIp()).isEqualTo(1);
            a.assertEchoes("a at 1");

            write(config(2, origin, limits("max_connections_per_ip: 2")));
            assertThat(reloadThroughAdmin().changes()).contains("listener http: limits.max_connections_per_ip 2 (was 1)");
            try (RawWebSocket b = RawWebSocket.open(port)) {
                b.assertUpgraded();
                assertClosedAtOnce(port);
                a.assertEchoes("a at 2");
                b.assertEchoes("b at 2");

                write(config(3, origin, limits("max_connections_per_ip: 1")));
                assertThat(reloadThroughAdmin().changes()).contains("listener http: limits.max_connections_per_ip 1"
                        + " (was 2); open connections stay open and count against it, a client address at it gets"
                        + " no new one");
                a.assertEchoes("a back at 1");
                b.assertEchoes("b back at 1");
                assertClosedAtOnce(port);
                b.close();
                await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 1);
                assertClosedAtOnce(port);
                a.assertEchoes("a still");
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 0);
        try (RawHttp fresh = new RawHttp(port)) {
            assertThat(fresh.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n").read().header("x-generation")).isEqualTo("3");
        }
    }

    /**
     * A listener whose sockets a reload replaces, moved to another port or bound again with new
     * socket options, keeps counting the connections its old sockets accepted, which stay open:
     * at its cap the new sockets start paused. Each new set of sockets got a new gate counting from
     * zero, so after such a reload the listener let in max_connections more.
     */
    @Test
    void aListenerMovedOrReboundKeepsCountingTheConnectionsItHasOpen() throws Exception {
        int origin = echo.address().getPort();
        int port = freePort();
        String at = "address: 127.0.0.1:" + port + "\n";
        write(config(1, origin, limits("max_connections: 1")).replace("address: 127.0.0.1:0\n", at));
        assertThat(reloadThroughAdmin().changes()).anySatisfy(c -> assertThat(c).startsWith("listener http moved to"));
        try (RawWebSocket a = RawWebSocket.open(port)) {
            a.assertUpgraded();
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 1
                    && server.gate("http").paused());

            write(config(2, origin, limits("max_connections: 1")).replace("address: 127.0.0.1:0\n",
                    at + "    backlog: 128\n"));
            assertThat(reloadThroughAdmin().changes()).contains("listener http rebound with new socket options");
            assertThat(server.gate("http").open()).isEqualTo(1);
            try (RawWebSocket b = RawWebSocket.open(port)) {
                b.assertWaiting();
                a.assertEchoes("a after the rebind");

                int other = freePort();
                write(config(3, origin, limits("max_connections: 2")).replace("address: 127.0.0.1:0\n",
                        "address: 127.0.0.1:" + other + "\n    backlog: 128\n"));
                // b, in the old sockets' backlog, is gone with them; a is still the listener's.
                assertThat(reloadThroughAdmin().changes()).contains("listener http moved to 127.0.0.1:" + other,
                        "listener http: limits.max_connections 2 (was 1)");
                try (RawWebSocket c = RawWebSocket.open(other)) {
                    c.assertUpgraded();
                    await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 2
                            && server.gate("http").paused());
                    try (RawWebSocket d = RawWebSocket.open(other)) {
                        d.assertWaiting();
                        a.assertEchoes("a after the move");
                        a.close();
                        d.assertUpgraded();
                        d.assertEchoes("d");
                    }
                }
            }
        }
    }

    private static int freePort() throws Exception {
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    /** A new connection is closed by Portico before any answer. */
    private static void assertClosedAtOnce(int port) throws Exception {
        try (RawHttp refused = new RawHttp(port)) {
            assertThat(refused.closedByServer()).as("closed at once").isTrue();
        }
    }

    /**
     * A WebSocket to the demo origin's echo over a plain socket: its handshake is sent at once, so
     * that a connection waiting in the listener's backlog can be told from one let in.
     */
    private static final class RawWebSocket implements AutoCloseable {
        private final Socket socket;
        private final java.io.InputStream in;

        private RawWebSocket(int port) throws Exception {
            socket = new Socket("127.0.0.1", port);
            in = socket.getInputStream();
            socket.getOutputStream().write((WebSocketProxyingTest.HANDSHAKE + "\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }

        static RawWebSocket open(int port) throws Exception {
            return new RawWebSocket(port);
        }

        /** Portico has not taken the connection in: no answer to its handshake comes. */
        void assertWaiting() throws Exception {
            socket.setSoTimeout(500);
            try {
                int b = in.read();
                throw new AssertionError("answered while it should wait in the backlog: "
                        + (b < 0 ? "closed" : "got a byte"));
            } catch (java.net.SocketTimeoutException stillWaiting) {
                // As it should be.
            }
        }

        void assertUpgraded() throws Exception {
            socket.setSoTimeout(10_000);
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                assertThat(c).as("end of stream after %s", head).isNotNegative();
                head.append((char) c);
            }
            assertThat(head.toString()).startsWith("HTTP/1.1 101");
        }

        void assertEchoes(String text) throws Exception {
            socket.setSoTimeout(10_000);
            byte[] payload = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            socket.getOutputStream().write(Http2WebSocketTest.clientFrame(0x1, payload));
            byte[] frame = in.readNBytes(2 + payload.length);
            assertThat(frame).hasSize(2 + payload.length);
            assertThat(frame[0] & 0xff).isEqualTo(0x81);
            assertThat(frame[1]).isEqualTo((byte) payload.length);
            assertThat(new String(frame, 2, payload.length, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(text);
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    @Test
    void changedSocketOptionsRebindTheListener() throws Exception {
        write(config(1, echo.address().getPort(), "").replace("address: 127.0.0.1:0\n",
                "address: 127.0.0.1:0\n    backlog: 128\n"));
        ReloadResult r = reloadThroughAdmin();
        assertThat(r.changes()).anySatisfy(c -> assertThat(c).contains("listener http"));
        HttpResponse<String> after = PorticoHarness.client().send(HttpRequest.newBuilder(uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(after.statusCode()).isEqualTo(200);
        assertThat(after.headers().firstValue("x-generation")).hasValue("1");
    }

    /**
     * New socket options bind new sockets where the old ones were, once those have closed. When the
     * new ones cannot bind (here a socket bound to the port with SO_REUSEPORT, which admits the old
     * reuse_port sockets but not the new plain ones), the reload is refused, naming the listener,
     * and the old sockets come back: the listener keeps serving the running config. It was
     * reported done, with a note, and the listener stayed down.
     */
    @Test
    void socketOptionsThatCannotBindAreRefusedAndTheListenerKeepsItsOldSockets() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        String listener = "address: 127.0.0.1:" + port + "\n    reuse_port: ";
        write(config(1, echo.address().getPort(), "").replace("address: 127.0.0.1:0\n", listener + "true\n"));
        reloadThroughAdmin();
        URI there = URI.create("http://127.0.0.1:" + port + "/");
        try (java.nio.channels.SocketChannel squatter = java.nio.channels.SocketChannel.open();
             RawWebSocket held = RawWebSocket.open(port)) {
            held.assertUpgraded();
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("http").open() == 1);
            squatter.setOption(java.net.StandardSocketOptions.SO_REUSEADDR, false);
            squatter.setOption(java.net.StandardSocketOptions.SO_REUSEPORT, true);
            squatter.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            write(config(2, echo.address().getPort(), "").replace("address: 127.0.0.1:0\n", listener + "false\n"));
            HttpResponse<String> refused = admin.post("/reload");
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(422);
            assertThat(refused.body()).contains("\"ok\":false", file + ": listeners[0]:")
                    .doesNotContain("not accepting");
            // The old sockets bound again go on counting what the listener has open.
            assertThat(server.gate("http").open()).isEqualTo(1);
            HttpResponse<String> still = PorticoHarness.client().send(HttpRequest.newBuilder(there).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(still.headers().firstValue("x-generation")).hasValue("1");
            held.assertEchoes("still held");
        }
        // With the port free the same file goes through.
        ReloadResult r = reloadThroughAdmin();
        assertThat(r.changes()).contains("listener http rebound with new socket options");
        HttpResponse<String> after = PorticoHarness.client().send(HttpRequest.newBuilder(there).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(after.headers().firstValue("x-generation")).hasValue("2");
    }

    /**
     * A listener moved to all interfaces on its own port: the new socket cannot bind beside the
     * old one, so the old one makes way. It was refused as a port in use.
     */
    @Test
    void aListenerMovedToAllInterfacesOnItsOwnPortMoves() throws Exception {
        int port = server.address("http").getPort();
        write(config(1, echo.address().getPort(), "").replace("address: 127.0.0.1:0\n",
                "address: \"*:" + port + "\"\n"));
        ReloadResult r = reloadThroughAdmin();
        assertThat(r.changes()).anySatisfy(c -> assertThat(c).startsWith("listener http moved to"));
        assertThat(server.address("http").getAddress().isAnyLocalAddress()).isTrue();
        assertThat(server.address("http").getPort()).isEqualTo(port);
        assertThat(generationAt(port)).hasValue("1");
    }

    /**
     * A listener renamed on its port (or an unnamed one written another way, its name being its
     * address) takes the port over from the one the new config drops. Every such reload was refused
     * as a port in use, so only a restart could rename one.
     */
    @Test
    void aListenerRenamedOnItsPortTakesItOver() throws Exception {
        int port = server.address("http").getPort();
        write(config(1, echo.address().getPort(), "").replace("  - name: http\n    address: 127.0.0.1:0\n",
                "  - name: web\n    address: 127.0.0.1:" + port + "\n"));
        ReloadResult r = reloadThroughAdmin();
        assertThat(r.changes()).anySatisfy(c -> assertThat(c).startsWith("listener web added on"))
                .anySatisfy(c -> assertThat(c).startsWith("listener http removed"));
        assertThat(server.address("web").getPort()).isEqualTo(port);
        assertThat(generationAt(port)).hasValue("1");
        // An unnamed listener is named by its address: written as localhost it is renamed too.
        write(config(2, echo.address().getPort(), "").replace("  - name: http\n    address: 127.0.0.1:0\n",
                "  - address: 127.0.0.1:" + port + "\n"));
        reloadThroughAdmin();
        write(config(3, echo.address().getPort(), "").replace("  - name: http\n    address: 127.0.0.1:0\n",
                "  - address: localhost:" + port + "\n"));
        reloadThroughAdmin();
        assertThat(generationAt(port)).hasValue("3");
    }

    /** A refused reload leaves no metric series for the listener and group it would have added. */
    @Test
    void aRefusedReloadLeavesNoSeriesOfWhatItWouldHaveAdded() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            write(config(1, echo.address().getPort(), """
                  - name: extra
                    address: 127.0.0.1:%d
                """.formatted(taken.getLocalPort())).replace("upstreams:\n", """
                upstreams:
                  more:
                    backends: [{address: "127.0.0.1:%d"}]
                """.formatted(echo.address().getPort())));
            HttpResponse<String> r = admin.post("/reload");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
            assertThat(r.body()).contains("listeners[1].address");
        }
        String metrics = admin.get("/metrics").body();
        assertThat(metrics).contains("listener=\"http\"").doesNotContain("listener=\"extra\"")
                .doesNotContain("upstream=\"more\"");
    }

    @Test
    void anAdminListenerMovedOntoAPortInUseIsRefusedAndTheOldOneKeepsAnswering() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            write(config(1, echo.address().getPort(), "").replace("admin: {address: \"127.0.0.1:0\"}",
                    "admin: {address: \"127.0.0.1:" + taken.getLocalPort() + "\"}"));
            HttpResponse<String> r = admin.post("/reload");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
            assertThat(r.body()).contains("\"ok\":false", file + ": admin.address:");
        }
        assertThat(server.generation()).isEqualTo(1);
        assertThat(admin.get("/status").statusCode()).isEqualTo(200);
        HttpResponse<String> still = PorticoHarness.client().send(HttpRequest.newBuilder(uri("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(still.headers().firstValue("x-generation")).hasValue("0");
    }

    @Test
    void anAdminListenerMovedToAllInterfacesOnItsOwnPortMoves() throws Exception {
        int port = server.adminAddress().getPort();
        write(config(1, echo.address().getPort(), "").replace("admin: {address: \"127.0.0.1:0\"}",
                "admin: {address: \"*:" + port + "\"}"));
        ReloadResult r = reloadThroughAdmin();
        assertThat(r.changes()).contains("admin listener on http://*:" + port);
        assertThat(server.adminAddress().getAddress().isAnyLocalAddress()).isTrue();
        assertThat(new AdminClient(server.adminAddress(), null).get("/status").statusCode()).isEqualTo(200);
    }

    @Test
    void accessLogLinesDroppedBeforeAReloadThatReplacesTheLogStayCounted() throws Exception {
        // /dev/full is Linux's device whose every write fails with ENOSPC: the one way to make a log
        // drop every line without filling a disk. Elsewhere (no such device) there is nothing to run.
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")),
                "/dev/full (every write fails) is not writable here, and the test needs a log that drops every line");
        int port = echo.address().getPort();
        // Every write to /dev/full fails (ENOSPC), so every line is dropped and counted.
        write(config(1, port, "").replace("access_log: {enabled: false}", "access_log: {path: /dev/full}"));
        reloadThroughAdmin();
        HttpClient client = PorticoHarness.client();
        for (int i = 0; i < 3; i++) {
            assertThat(client.send(HttpRequest.newBuilder(uri("/")).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> admin.scrape().sum("portico_access_log_dropped_total") >= 3);

        write(config(2, port, ""));
        reloadThroughAdmin();
        // A counter: the new log (here none) goes on from what the old one dropped.
        assertThat(admin.scrape().sum("portico_access_log_dropped_total")).isGreaterThanOrEqualTo(3);
    }
}
