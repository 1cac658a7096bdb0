package io.portico.server.admin;

import io.portico.server.it.PorticoHarness;
import io.portico.server.it.TestOrigin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The live dashboard in a real headless Chromium: it loads with no console errors and its charts
 * show the traffic this test sends. The screenshot is kept as {@code target/dashboard.png}.
 */
class DashboardBrowserTest {

    static TestOrigin origin;
    static PorticoHarness portico;

    @BeforeAll
    static void start() throws Exception {
        origin = new TestOrigin("origin");
        portico = PorticoHarness.proxyTo(origin, "");
    }

    @AfterAll
    static void stop() {
        if (portico != null) {
            portico.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    @Test
    void theDashboardLoadsWithoutErrorsAndChartsTheTrafficSent(@TempDir Path profile) throws Exception {
        Path chromium = DevTools.findChromium();
        Assumptions.assumeTrue(chromium != null,
                "no Chromium binary (looked for /usr/bin/chromium, chromium-browser, google-chrome): "
                        + "install the Debian package chromium to run the dashboard test");
        try (DevTools browser = DevTools.launch(chromium, profile)) {
            browser.navigate("http://127.0.0.1:" + portico.server().adminAddress().getPort() + "/ui");
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    browser.evaluateString("String(window.porticoPolls || 0)").compareTo("1") >= 0);

            HttpClient client = PorticoHarness.client();
            // Five seconds of traffic, so several one-second samples carry it.
            long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            int sent = 0;
            while (System.nanoTime() < end) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(portico.uri("/hello")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                sent++;
            }
            assertThat(sent).isGreaterThan(20);

            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                String peak = browser.evaluateString(
                        "String(Math.max(0, ...window.porticoCharts.requests.series[0].map(v => v || 0)))");
                assertThat(Double.parseDouble(peak)).isGreaterThan(1.0);
            });
            String p99 = browser.evaluateString(
                    "String(Math.max(0, ...window.porticoCharts.latency.series[2].map(v => v || 0)))");
            assertThat(Double.parseDouble(p99)).isPositive();
            String backends = browser.evaluateString(
                    "String(Math.max(0, ...window.porticoCharts.health.series[0].map(v => v || 0)))");
            assertThat(Double.parseDouble(backends)).isEqualTo(1.0);
            assertThat(browser.evaluateString("document.querySelector('#members').textContent"))
                    .contains("127.0.0.1:" + origin.port());
            assertThat(browser.evaluateString("document.querySelector('#cacheNote').textContent"))
                    .isEqualTo("(no cache lookups yet)");
            assertThat(browser.evaluateString("document.querySelector('#error').textContent")).isEmpty();
            browser.screenshot(Path.of("target", "dashboard.png"));
            assertThat(browser.errors()).isEmpty();
        }
    }
}
