package io.portico.server.it;

import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/1.1 clients through Portico to HTTP/2 backends: h2c and h2, translation both ways, errors. */
class Http2UpstreamTest {

    private static final String H2C = "    protocol: h2c\n";

    @Test
    void proxiesToAnH2cBackendWithPseudoHeadersFromTheRequest() throws Exception {
        try (H2TestOrigin origin = H2TestOrigin.cleartext("h2c", 100);
             PorticoHarness p = PorticoHarness.proxyTo(origin.port(), H2C)) {
            HttpClient client = PorticoHarness.client();
            HttpResponse<String> hello = client.send(HttpRequest.newBuilder(p.uri("/hello")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(hello.statusCode()).isEqualTo(200);
            assertThat(hello.body()).isEqualTo("hello from h2c");
            assertThat(hello.headers().firstValue("x-origin")).hasValue("h2c");

            HttpResponse<String> headers = client.send(HttpRequest.newBuilder(p.uri("/headers"))
                    .header("Cookie", "a=1; b=2").header("X-Custom", "yes").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(headers.body())
                    .contains(":method: GET", ":path: /headers", ":scheme: http",
                            ":authority: 127.0.0.1:" + p.port(), "x-custom: yes", "cookie: a=1\n", "cookie: b=2\n",
                            "x-forwarded-for: 127.0.0.1", "via: 1.1 portico")
                    .doesNotContain("connection:", "\nhost:", "keep-alive", "upgrade:", "transfer-encoding:");
        }
    }
}
