package io.portico.server.admin;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Calls Portico's admin listener with the JDK client. */
public final class AdminClient {

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final InetSocketAddress address;
    private final String token;

    public AdminClient(InetSocketAddress address, String token) {
        this.address = address;
        this.token = token;
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(builder(path).GET());
    }

    public HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return send(builder(path).POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** A POST with extra header fields, name and value in turn (as a browser adds Origin). */
    public HttpResponse<String> post(String path, String... headers) throws IOException, InterruptedException {
        return send(builder(path).headers(headers).POST(HttpRequest.BodyPublishers.noBody()));
    }

    /** The origin a browser that loaded the dashboard from this listener sends. */
    public String origin() {
        return "http://127.0.0.1:" + address.getPort();
    }

    public Scrape scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = get("/metrics");
        if (r.statusCode() != 200) {
            throw new IllegalStateException("/metrics answered " + r.statusCode() + ": " + r.body());
        }
        return new Scrape(r.body());
    }

    private HttpRequest.Builder builder(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + address.getPort() + path))
                .timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws IOException, InterruptedException {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
