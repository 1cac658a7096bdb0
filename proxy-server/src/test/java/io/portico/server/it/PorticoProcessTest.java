package io.portico.server.it;

import io.portico.server.Portico;
import io.portico.server.admin.AdminClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Portico as a process, as an operator runs it: {@code kill -HUP} reloads the file without dropping
 * an open connection, and {@code kill -TERM} drains a slow request in flight to completion, then exits.
 */
class PorticoProcessTest {

    @TempDir
    Path dir;
    Path file;
    GracefulShutdownTest.SlowOrigin origin;
    Process portico;
    int port;
    int adminPort;
    AdminClient admin;

    @BeforeEach
    void start() throws Exception {
        origin = new GracefulShutdownTest.SlowOrigin();
        port = BackendFaultsTest.unusedPort();
        adminPort = BackendFaultsTest.unusedPort();
        file = dir.resolve("portico.yaml");
        Files.writeString(file, config(0, adminPort));
        String java = ProcessHandle.current().info().command().orElse("java");
        portico = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "io.portico.server.Portico",
                "--config", file.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("portico.out").toFile())
                .start();
        admin = new AdminClient(new InetSocketAddress("127.0.0.1", adminPort), null);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> admin.get("/status").statusCode() == 200);
    }

    @AfterEach
    void stop() throws Exception {
        origin.release();
        if (portico.isAlive()) {
            portico.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        origin.close();
    }

    private String config(int generation, int adminPort) {
        return """
                workers: 1
                shutdown_timeout: 20s
                admin: {address: "127.0.0.1:%d"}
                access_log: {path: "%s"}
                listeners:
                  - name: http
                    address: 127.0.0.1:%d
                upstreams:
                  slow:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes:
                      - match: {prefix: /}
                        upstream: slow
                        response_headers: {set: {X-Generation: "%d"}}
                """.formatted(adminPort, dir.resolve("access.log"), port, origin.port(), generation);
    }

    @Test
    void sighupReloadsTheFileAndClosesTheOldConfigsIdleConnections() throws Exception {
        // A JVM started with SIGHUP ignored (this build run under nohup) can never handle it;
        // Portico says so at start, and then there is nothing to test here.
        assumeFalse(Portico.sighupIgnored(), "SIGHUP is ignored in this process tree (run under nohup), so "
                + "Portico started from it cannot handle SIGHUP either; it warns about that at start");
        try (RawHttp old = new RawHttp(port)) {
            assertThat(old.send("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n").read().header("x-generation")).isEqualTo("0");
            Files.writeString(file, config(1, adminPort));
            new ProcessBuilder("kill", "-HUP", String.valueOf(portico.pid())).start().waitFor();
            try {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> admin.get("/status").body().contains("\"config_generation\":2"));
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                // Say what the process did with the signal: its log is in the temporary folder, gone after the test.
                throw new AssertionError("no reload within 30 s; status " + admin.get("/status").body()
                        + "; Portico's output:\n" + Files.readString(dir.resolve("portico.out")), e);
            }
            // The idle keep-alive connection from before the reload is closed, as nginx's old workers
            // close theirs; the client opens a new one, which gets the new config.
            assertThat(old.closedByServer()).isTrue();
        }
        HttpResponse<String> fresh = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/fast")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(fresh.headers().firstValue("x-generation")).hasValue("1");
        assertThat(portico.isAlive()).isTrue();
    }

    @Test
    void sigtermDrainsASlowRequestInFlightToCompletionThenExits() throws Exception {
        try (RawHttp busy = new RawHttp(port)) {
            busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> origin.waiting.get() == 1);
            portico.destroy();
            // Draining: the listener no longer accepts, the process is still there for the request.
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
                try (Socket s = new Socket("127.0.0.1", port)) {
                    throw new AssertionError("still accepting");
                } catch (ConnectException refused) {
                    // expected
                }
            });
            assertThat(portico.isAlive()).isTrue();
            origin.release();
            RawHttp.Response slow = busy.read();
            assertThat(slow.status()).isEqualTo(200);
            assertThat(slow.text()).isEqualTo("slow done");
            assertThat(slow.header("connection")).isEqualTo("close");
        }
        assertThat(portico.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(dir.resolve("portico.out"))).contains("shutting down: draining", "stopped");
        assertThat(Files.readString(dir.resolve("access.log"))).contains("\"GET /slow HTTP/1.1\" 200");
    }
}
