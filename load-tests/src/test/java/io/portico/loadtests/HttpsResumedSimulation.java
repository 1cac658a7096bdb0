package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.during;
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
 * Resumed TLS handshakes: each virtual user loops on {@code GET /hello} with
 * {@code Connection: close}, so every request comes on a new connection, and offers the session
 * of its previous one (Gatling keeps an SSL session cache per user), which Portico resumes from its
 * session cache or a ticket. Only each user's first handshake is a full one. For full handshakes
 * run {@code https-full} ({@link NewConnectionSimulation} against the TLS listener).
 *
 * <p>System properties: {@code target} (default {@code https://127.0.0.1:8443}, the default
 * config's TLS listener with its development certificate; Gatling trusts any certificate),
 * {@code users} (default 20), {@code duration} (seconds, default 30), {@code p99ms} (default 500).
 */
public final class HttpsResumedSimulation extends Simulation {

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
            .acceptHeader("*/*")
            .connectionHeader("close")
            .userAgentHeader("portico-load-tests");

    private final ScenarioBuilder resumed = scenario("resumed TLS handshakes")
            .exec(during(duration).on(http("GET /hello (resumed handshake)").get("/hello")
                    .check(status().is(200), substring("Hello"))));

    {
        setUp(resumed.injectOpen(atOnceUsers(users)))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        global().responseTime().percentile(99.0).lt(p99Millis));
    }
}
