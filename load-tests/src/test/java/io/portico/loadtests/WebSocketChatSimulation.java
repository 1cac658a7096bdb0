package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.repeat;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.time.Duration;

/**
 * WebSocket chat: users connect to the demo origin's echo socket ({@code /ws}) through Portico,
 * each sends {@code messages} chat lines with a pause between them and checks each echo comes back,
 * then closes. The connection count ramps up over the first third of the run, so most of it runs
 * with every socket open at once.
 *
 * <p>System properties: {@code target} (default {@code http://127.0.0.1:8080}; the socket URL is
 * derived from it), {@code users} (sockets, default 200), {@code messages} (per socket, default 30),
 * {@code pausems} (between messages, default 500), {@code p99ms} (default 500).
 */
public final class WebSocketChatSimulation extends Simulation {

    private final String target = Settings.string("target", "http://127.0.0.1:8080");
    private final int users = Settings.positiveInt("users", 200);
    private final int messages = Settings.positiveInt("messages", 30);
    private final Duration pause = Duration.ofMillis(Settings.positiveInt("pausems", 500));
    private final int p99Millis = Settings.positiveInt("p99ms", 500);

    private final HttpProtocolBuilder protocol = http
            // Gatling caches per user by Cache-Control, as a browser would: a repeated request for a
            // cacheable response would then never reach Portico, nor be counted.
            .disableCaching()
            .baseUrl(target)
            .wsBaseUrl(target.replaceFirst("^http", "ws"))
            .warmUp(target + "/hello")
            .userAgentHeader("portico-load-tests");

    private final ScenarioBuilder chat = scenario("WebSocket chat")
            .exec(session -> session.set("user", session.userId()))
            .exec(ws("open /ws").connect("/ws"))
            .exec(repeat(messages, "n").on(
                    exec(ws("chat line").sendText("user #{user} line #{n}")
                            .await(Duration.ofSeconds(5)).on(
                                    ws.checkTextMessage("echo").check(
                                            io.gatling.javaapi.core.CoreDsl.regex("line #{n}$").exists())))
                            .pause(pause)))
            .exec(ws("close").close());

    {
        // Gatling counts injection in whole seconds: a ramp under one second would inject no one.
        long rampSeconds = Math.max(1, pause.multipliedBy(messages).dividedBy(3).toSeconds());
        setUp(chat.injectOpen(rampUsers(users).during(Duration.ofSeconds(rampSeconds))))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        global().responseTime().percentile(99.0).lt(p99Millis));
    }
}
