package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.rampUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.repeat;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.substring;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.time.Duration;

/**
 * Overload and recovery, an open model: users arrive at a rate that ramps from 20% to 120% of
 * the stated capacity, holds at 120%, and falls back to 50%; each sends {@code requests} requests
 * on one keep-alive connection and leaves. A proxy past its capacity must queue and slow down, not
 * fail or fall over, and must come back to normal latency once the load falls (the report's
 * response-time-over-time chart shows it).
 *
 * <p>System properties: {@code target} (default {@code http://127.0.0.1:8080}), {@code capacity}
 * (requests per second the target sustains, measured beforehand, e.g. with the keep-alive mix;
 * default 5000), {@code requests} (per user, default 10), {@code step} (seconds per phase, default
 * 20), {@code maxfailpct} (default 1).
 */
public final class OverloadRampSimulation extends Simulation {

    private final String target = Settings.string("target", "http://127.0.0.1:8080");
    private final int capacity = Settings.positiveInt("capacity", 5000);
    private final int requests = Settings.positiveInt("requests", 10);
    private final Duration step = Duration.ofSeconds(Settings.positiveInt("step", 20));
    private final int maxFailPercent = Settings.positiveInt("maxfailpct", 1);

    private final HttpProtocolBuilder protocol = http
            // Gatling caches per user by Cache-Control, as a browser would: a repeated request for a
            // cacheable response would then never reach Portico, nor be counted.
            .disableCaching()
            .baseUrl(target)
            .warmUp(target + "/hello")
            .acceptHeader("*/*")
            .userAgentHeader("portico-load-tests");

    private final ScenarioBuilder visit = scenario("overload ramp")
            .exec(repeat(requests).on(http("GET /hello").get("/hello")
                    .check(status().is(200), substring("Hello"))));

    {
        double users = (double) capacity / requests;
        setUp(visit.injectOpen(
                rampUsersPerSec(users * 0.2).to(users * 1.2).during(step),
                constantUsersPerSec(users * 1.2).during(step),
                rampUsersPerSec(users * 1.2).to(users * 0.5).during(step),
                constantUsersPerSec(users * 0.5).during(step)))
                .protocols(protocol)
                .assertions(global().failedRequests().percent().lt((double) maxFailPercent));
    }
}
