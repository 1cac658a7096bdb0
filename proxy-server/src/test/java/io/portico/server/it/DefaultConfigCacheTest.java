package io.portico.server.it;

import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipped conf/portico.yaml with its demo origin: what `curl -i localhost:8080/` twice shows. */
class DefaultConfigCacheTest {

    @Test
    void demoPagesAreAMissThenAHitAndTheTimeApiIsNeverStored(@TempDir Path tmp) throws Exception {
        int demoPort;
        try (ServerSocket s = new ServerSocket(0)) {
            demoPort = s.getLocalPort();
        }
        String text = Files.readString(Path.of("..", "conf", "portico.yaml"))
                .replace("0.0.0.0:8080", "127.0.0.1:0")
                .replace("0.0.0.0:8443", "127.0.0.1:0")
                .replace("127.0.0.1:8081", "127.0.0.1:" + demoPort)
                .replace("address: 127.0.0.1:9901", "address: 127.0.0.1:0")
                .replace("dev_cert_dir: conf/tls", "dev_cert_dir: " + tmp.resolve("tls"))
                .replace("path: logs/access.log", "path: " + tmp.resolve("access.log"))
                .replace("workers: 0", "workers: 2");
        try (PorticoHarness p = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("portico.yaml", text)))) {
            HttpResponse<String> first = get(p, "/");
            HttpResponse<String> second = get(p, "/");
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("cache-status").orElse("")).contains("fwd=miss").contains("stored");
            assertThat(second.headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
            assertThat(second.body()).isEqualTo(first.body());
            assertThat(second.headers().firstValue("etag")).isPresent();

            HttpResponse<String> time1 = get(p, "/api/time");
            HttpResponse<String> time2 = get(p, "/api/time");
            assertThat(time1.headers().firstValue("cache-status").orElse("")).contains("fwd=miss").doesNotContain("stored");
            assertThat(time2.headers().firstValue("cache-status").orElse("")).contains("fwd=miss").doesNotContain("stored");
            assertThat(get(p, "/echo").headers().firstValue("cache-status").orElse("")).contains("detail=no-store");
        }
    }

    private static HttpResponse<String> get(PorticoHarness p, String path) throws Exception {
        return PorticoHarness.client().send(HttpRequest.newBuilder(p.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
