package io.portico.loadtests;

import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.bodyLength;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.during;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.repeat;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.header;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A cache hit/miss mix on the default config, whose route caches the demo origin's answers:
 * {@code /bytes/SIZE} says {@code public, max-age=300}, and the cache key holds the query, so
 * {@code /bytes/SIZE?obj=K} are {@code urls} distinct cacheable objects. A first scenario fetches
 * each once (filling the cache); then users send {@code hitPercent}% of their requests to those
 * objects, picked at random, which must come from the cache ({@code Cache-Status: portico; hit}),
 * and the rest to URLs never asked before ({@code ?miss=N}), which must go to the origin
 * ({@code fwd=miss}) and are stored. Every answer is checked for status and size, and the
 * assertions fail the run on errors or on a hit that was not one.
 *
 * <p>System properties: {@code target} (default {@code http://127.0.0.1:8080}), {@code users}
 * (default 50), {@code duration} (seconds, default 30), {@code urls} (default 1000), {@code size}
 * (bytes per object, default 4096), {@code hitPercent} (default 90), {@code p99ms} (default 500).
 */
public final class CacheMixSimulation extends Simulation {

    private final String target = Settings.string("target", "http://127.0.0.1:8080");
    private final int users = Settings.positiveInt("users", 50);
    private final Duration duration = Duration.ofSeconds(Settings.positiveInt("duration", 30));
    private final int urls = Settings.positiveInt("urls", 1000);
    private final int size = Settings.positiveInt("size", 4096);
    private final int hitPercent = Math.min(100, Settings.positiveInt("hitPercent", 90));
    private final int p99Millis = Settings.positiveInt("p99ms", 500);
    /** Unique per run, so that a rerun against the same Portico still misses. */
    private final String run = Long.toString(System.currentTimeMillis(), 36);
    private final AtomicLong misses = new AtomicLong();

    private final HttpProtocolBuilder protocol = http
            // Gatling caches per user by Cache-Control, as a browser would: a repeated request for a
            // cacheable response would then never reach Portico, nor be counted.
            .disableCaching()
            .baseUrl(target)
            .warmUp(target + "/hello")
            .acceptHeader("*/*")
            .userAgentHeader("portico-load-tests");

    private String object(int k) {
        return "/bytes/" + size + "?obj=" + k;
    }

    private final ScenarioBuilder fill = scenario("fill the cache")
            .exec(repeat(urls, "k").on(exec(http("fill").get(session -> object(session.getInt("k")))
                    .check(status().is(200), bodyLength().is(size)))));

    private final ChainBuilder hit = exec(http("hit").get(session -> object(ThreadLocalRandom.current().nextInt(urls)))
            .check(status().is(200), bodyLength().is(size),
                    header("Cache-Status").transform(v -> v.contains("; hit")).is(true)));

    private final ChainBuilder miss = exec(http("miss")
            .get(session -> "/bytes/" + size + "?miss=" + run + "-" + misses.incrementAndGet())
            .check(status().is(200), bodyLength().is(size),
                    header("Cache-Status").transform(v -> v.contains("; fwd=miss") || v.contains("; fwd=uri-miss")).is(true)));

    private final ScenarioBuilder mix = scenario("hit/miss mix")
            .exec(during(duration).on(exec(session -> session.set("isHit",
                            ThreadLocalRandom.current().nextInt(100) < hitPercent))
                    .doIfEqualsOrElse("#{isHit}", true).then(hit).orElse(miss)));

    {
        setUp(fill.injectOpen(atOnceUsers(1)).andThen(mix.injectOpen(atOnceUsers(users))))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        details("hit").failedRequests().percent().lt(1.0),
                        details("miss").failedRequests().percent().lt(1.0),
                        global().responseTime().percentile(99.0).lt(p99Millis));
    }
}
