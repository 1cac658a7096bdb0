package io.portico.bench;

import io.portico.server.config.BalanceAlgorithm;
import io.portico.server.config.HashAlgorithm;
import io.portico.server.upstream.balance.HashKeys;
import io.portico.server.upstream.balance.HashOptions;
import io.portico.server.upstream.balance.LoadBalancer;
import io.portico.server.upstream.balance.LoadBalancers;
import io.portico.server.upstream.balance.Member;
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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Consistent-hash lookups as a cache tier does them: a ketama ring (160 points per unit of weight)
 * or a Maglev table (65537 entries) over 20 members, with and without bounded loads (c = 1.25, the
 * members carrying some requests in flight so the capacity test does real work). {@code pick} looks
 * up a precomputed key hash; {@code hashAndPick} also hashes the key (MD5, as libketama), which is
 * what a request costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HashRingBenchmark {

    private static final int KEYS = 4096;

    @Param({"ketama", "maglev"})
    public String algorithm;

    @Param({"0", "1.25"})
    public double boundedLoad;

    @Param({"20"})
    public int members;

    private LoadBalancer<Backend> balancer;
    private final Predicate<Backend> eligible = b -> b.up;
    private String[] keys;
    private long[] hashes;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < members; i++) {
            // Uneven load, as a live tier has; weights 1-3.
            list.add(new Backend("10.0." + (i / 200) + "." + (i % 200 + 1) + ":8080", 1 + i % 3, i % 7));
        }
        HashAlgorithm hash = algorithm.equals("maglev") ? HashAlgorithm.MAGLEV : HashAlgorithm.KETAMA;
        balancer = LoadBalancers.factory(BalanceAlgorithm.CONSISTENT_HASH, list,
                new HashOptions(hash, 160, 65537, boundedLoad, 0)).get();
        keys = new String[KEYS];
        hashes = new long[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "https://static.example.com/img/" + (i * 7919) + "/photo-" + i + ".jpg";
            hashes[i] = HashKeys.hash(keys[i]);
        }
        if (balancer.pick(hashes[0], eligible) == null) {
            throw new IllegalStateException("no member picked");
        }
    }

    @Benchmark
    public Backend pick() {
        int i = next;
        next = (i + 1) & (KEYS - 1);
        return balancer.pick(hashes[i], eligible);
    }

    @Benchmark
    public Backend hashAndPick() {
        int i = next;
        next = (i + 1) & (KEYS - 1);
        return balancer.pick(HashKeys.hash(keys[i]), eligible);
    }

    /** A member with a fixed load. */
    public static final class Backend implements Member {
        private final String key;
        private final int weight;
        private final int inFlight;
        final boolean up = true;

        Backend(String key, int weight, int inFlight) {
            this.key = key;
            this.weight = weight;
            this.inFlight = inFlight;
        }

        @Override
        public String key() {
            return key;
        }

        @Override
        public int weight() {
            return weight;
        }

        @Override
        public int inFlight() {
            return inFlight;
        }
    }
}
