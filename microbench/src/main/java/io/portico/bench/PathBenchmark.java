package io.portico.bench;

import io.portico.http.PathNormalizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Path normalisation, done once per request before routing, ACLs and the cache key: the common
 * case (already normal, which must stay cheap) and a path with every kind of work in it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class PathBenchmark {

    @Param({"/api/v1/users/12345/orders", "/static/./js/../css/%7Euser/%2e%2E/app%2Dmain.css;v=3//x"})
    public String path;

    @Benchmark
    public String normalize() {
        return PathNormalizer.normalize(path);
    }
}
