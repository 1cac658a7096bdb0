package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
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
 * HTTP/1.1 keep-alive mix against Portico in front of its demo origin.
 *
 * <p>Each virtual user holds one keep-alive connection and sends requests back to back for the
 * whole run, 70% {@code GET /hello}, 20% {@code GET /api/time}, 10% {@code POST /echo}, so the
 * run measures the proxy's steady state rather than connection setup.
 *
 * <p>System properties: {@code target} (base URL, default {@code http://127.0.0.1:8080}),
 * {@code users} (concurrent users, default 50), {@code duration} (seconds, default 30),
 * {@code p99ms} (the p99 bound the run must meet, default 500).
 */
public final class Http1KeepAliveSimulation extends Simulation {

    private static final String ECHO_BODY = "{\"greeting\":\"hello portico\",\"n\":42}";

    private final String target = Settings.string("target", "http://127.0.0.1:8080");
    private final int users = Settings.positiveInt("users", 50);
    private final Duration duration = Duration.ofSeconds(Settings.positiveInt("duration", 30));
    private final int p99Millis = Settings.positiveInt("p99ms", 500);

    private final HttpProtocolBuilder protocol = http
            // Gatling caches per user by Cache-Control, as a browser would: a repeated request for a
            // cacheable response would then never reach Portico, nor be counted.
            .disableCaching()
            .baseUrl(target)
            // Warm up against the target itself instead of Gatling's default external URL.
            .warmUp(target + "/hello")
            .acceptHeader("*/*")
            .userAgentHeader("portico-load-tests");

    private final ChainBuilder hello = exec(http("GET /hello").get("/hello")
            .check(status().is(200), substring("Hello")));

    private final ChainBuilder time = exec(http("GET /api/time").get("/api/time")
            .check(status().is(200), jsonPath("$.time").exists()));

    private final ChainBuilder echo = exec(http("POST /echo").post("/echo")
            .body(StringBody(ECHO_BODY)).asJson()
            .check(status().is(200), substring(ECHO_BODY)));

    private final ScenarioBuilder keepAliveMix = scenario("HTTP/1.1 keep-alive mix")
            .exec(during(duration).on(randomSwitch().on(
                    percent(70.0).then(hello),
                    percent(20.0).then(time),
                    percent(10.0).then(echo))));

    {
        setUp(keepAliveMix.injectOpen(atOnceUsers(users)))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        global().responseTime().percentile(99.0).lt(p99Millis));
    }
}
