package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.substring;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.time.Duration;

/**
 * A new connection per request: each virtual user opens its own connection, sends one
 * {@code GET /hello} with {@code Connection: close}, and leaves. Users arrive at a fixed rate (an
 * open model), so this measures accepting, parsing a first request and closing, which keep-alive
 * runs never exercise. Against an {@code https://} target every user makes a full TLS handshake
 * (Gatling gives each user its own SSL session cache).
 *
 * <p>System properties: {@code target} (default {@code http://127.0.0.1:8080}), {@code rate}
 * (new connections per second, default 500), {@code duration} (seconds, default 30), {@code p99ms}
 * (default 500).
 */
public final class NewConnectionSimulation extends Simulation {

    private final String target = Settings.string("target", "http://127.0.0.1:8080");
    private final int rate = Settings.positiveInt("rate", 500);
    private final Duration duration = Duration.ofSeconds(Settings.positiveInt("duration", 30));
    private final int p99Millis = Settings.positiveInt("p99ms", 500);

    private final HttpProtocolBuilder protocol = http
            // Gatling caches per user by Cache-Control, as a browser would: a repeated request for a
            // cacheable response would then never reach Portico, nor be counted.
            .disableCaching()
            .baseUrl(target)
            .warmUp(target + "/hello")
            .acceptHeader("*/*")
            .connectionHeader("close")
            .userAgentHeader("portico-load-tests");

    private final ScenarioBuilder oneRequest = scenario("new connection per request")
            .exec(http("GET /hello (new connection)").get("/hello")
                    .check(status().is(200), substring("Hello")));

    {
        setUp(oneRequest.injectOpen(constantUsersPerSec(rate).during(duration)))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        global().responseTime().percentile(99.0).lt(p99Millis));
    }
}
