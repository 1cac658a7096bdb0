package io.portico.bench;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.portico.http.cache.CacheControl;
import io.portico.http.cache.CachePolicy;
import io.portico.http.cache.CacheRules;
import io.portico.http.cache.HttpDates;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.util.concurrent.TimeUnit;

/**
 * The cache's decisions on an origin response, as a miss makes them before storing: parse the
 * request's and the response's Cache-Control, decide whether it may be stored, its freshness
 * lifetime and its corrected initial age. {@code response} picks a typical response: {@code max-age}
 * (public, max-age and stale-while-revalidate, ETag, Vary), {@code expires} (no Cache-Control,
 * Expires and Last-Modified dates to parse), {@code heuristic} (only Last-Modified) and
 * {@code no-store} (refused early). {@code parseCacheControl} is the parse alone.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CachePolicyBenchmark {

    @Param({"max-age", "expires", "heuristic", "no-store"})
    public String response;

    private final HttpHeaders request = new DefaultHttpHeaders();
    private final HttpHeaders headers = new DefaultHttpHeaders();
    private final CacheRules rules = CacheRules.DEFAULT;
    private long now;
    private String cacheControl;

    @Setup(Level.Trial)
    public void setUp() {
        now = System.currentTimeMillis();
        request.add(HttpHeaderNames.HOST, "www.example.com")
                .add(HttpHeaderNames.USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0")
                .add(HttpHeaderNames.ACCEPT, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
                .add(HttpHeaderNames.ACCEPT_ENCODING, "gzip, deflate, br");
        headers.add(HttpHeaderNames.DATE, HttpDates.format(now - 1000))
                .add(HttpHeaderNames.CONTENT_TYPE, "text/html; charset=utf-8")
                .add(HttpHeaderNames.CONTENT_LENGTH, "14230")
                .add(HttpHeaderNames.ETAG, "\"5f3a-61a2b3c4d5e6f\"")
                .add(HttpHeaderNames.VARY, "Accept-Encoding");
        switch (response) {
            case "max-age" -> cacheControl = "public, max-age=3600, stale-while-revalidate=30";
            case "expires" -> {
                cacheControl = null;
                headers.add(HttpHeaderNames.EXPIRES, HttpDates.format(now + 600_000))
                        .add(HttpHeaderNames.LAST_MODIFIED, HttpDates.format(now - 86_400_000L));
            }
            case "heuristic" -> {
                cacheControl = null;
                headers.add(HttpHeaderNames.LAST_MODIFIED, HttpDates.format(now - 10 * 86_400_000L));
            }
            case "no-store" -> cacheControl = "no-store, no-cache, must-revalidate, private";
            default -> throw new IllegalArgumentException(response);
        }
        if (cacheControl != null) {
            headers.add(HttpHeaderNames.CACHE_CONTROL, cacheControl);
        }
        boolean storable = CachePolicy.notStorable(HttpMethod.GET, request, CacheControl.of(request), 200,
                headers, CacheControl.of(headers), rules) == null;
        if (storable == response.equals("no-store")) {
            throw new IllegalStateException(response + ": storable=" + storable);
        }
    }

    @Benchmark
    public void decide(Blackhole bh) {
        CacheControl requestCc = CacheControl.of(request);
        CacheControl responseCc = CacheControl.of(headers);
        String why = CachePolicy.notStorable(HttpMethod.GET, request, requestCc, 200, headers, responseCc, rules);
        bh.consume(why);
        if (why == null) {
            bh.consume(CachePolicy.freshnessLifetime(200, headers, responseCc, rules, now));
            bh.consume(CachePolicy.correctedInitialAge(headers, now - 5, now));
        }
    }

    @Benchmark
    public CacheControl parseCacheControl() {
        return CacheControl.of(headers);
    }
}
