package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.bodyLength;
import static io.gatling.javaapi.core.CoreDsl.during;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.percent;
import static io.gatling.javaapi.core.CoreDsl.randomSwitch;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.substring;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.time.Duration;

/**
 * HTTP/2 over TLS against the default config's TLS listener ({@code :8443}, development
 * certificate, {@code h2} offered in ALPN). Gatling's HTTP/2 support negotiates h2 by ALPN and
 * keeps one connection per virtual user, on which each user sends its requests back to back
 * (a browser tab's pattern), 70% {@code GET /hello}, 20% {@code GET /api/time}, 10% a 16 KiB
 * {@code GET /bytes/16384}. {@code bin/loadtest http2} checks beforehand with curl that the target
 * really answers over HTTP/2.
 *
 * <p>System properties: {@code target} (default {@code https://127.0.0.1:8443}), {@code users}
 * (connections, default 20), {@code duration} (seconds, default 30), {@code p99ms} (default 500).
 */
public final class Http2Simulation extends Simulation {

    private final String target = Settings.string("target", "https://127.0.0.1:8443");
    private final int users = Settings.positiveInt("users", 20);
    private final Duration duration = Duration.ofSeconds(Settings.positiveInt("duration", 30));
    private final int p99Millis = Settings.positiveInt("p99ms", 500);

    private final HttpProtocolBuilder protocol = http
            // Gatling caches per user by Cache-Control, as a browser would: a repeated request for a
            // cacheable response would then never reach Portico, nor be counted.
            .disableCaching()
            .baseUrl(target)
            .warmUp(target + "/hello")
            .enableHttp2()
            .acceptHeader("*/*")
            .userAgentHeader("portico-load-tests");

    private final ChainBuilder hello = exec(http("GET /hello (h2)").get("/hello")
            .check(status().is(200), substring("Hello")));

    private final ChainBuilder time = exec(http("GET /api/time (h2)").get("/api/time")
            .check(status().is(200), jsonPath("$.time").exists()));

    private final ChainBuilder bytes = exec(http("GET /bytes/16384 (h2)").get("/bytes/16384")
            .check(status().is(200), bodyLength().is(16384)));

    private final ScenarioBuilder h2 = scenario("HTTP/2 over TLS")
            .exec(during(duration).on(randomSwitch().on(
                    percent(70.0).then(hello),
                    percent(20.0).then(time),
                    percent(10.0).then(bytes))));

    {
        setUp(h2.injectOpen(atOnceUsers(users)))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        global().responseTime().percentile(99.0).lt(p99Millis));
    }
}
