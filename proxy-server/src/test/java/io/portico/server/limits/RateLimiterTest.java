package io.portico.server.limits;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.portico.server.config.RateLimitConfig;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimiterTest {

    private static final long SECOND = 1_000_000_000L;
    private static final HttpHeaders NONE = new DefaultHttpHeaders();

    @Test
    void allowsTheBurstThenOneRequestPerIntervalAndSaysHowLongToWait() throws Exception {
        RateLimiter limiter = RateLimiter.of(new RateLimitConfig("client_ip", 2, 3, 100));
        InetAddress a = InetAddress.getByName("192.0.2.1");
        long t = 1_000 * SECOND;
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.acquire(NONE, a, t)).isZero();
        }
        assertThat(limiter.acquire(NONE, a, t)).isEqualTo(SECOND / 2);
        assertThat(limiter.acquire(NONE, a, t + SECOND / 2)).isZero();
        assertThat(limiter.acquire(NONE, a, t + SECOND / 2)).isPositive();
        // After a long pause the bucket is full again, not fuller.
        long later = t + 100 * SECOND;
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.acquire(NONE, a, later)).isZero();
        }
        assertThat(limiter.acquire(NONE, a, later)).isPositive();
    }

    @Test
    void keysHaveTheirOwnBuckets() throws Exception {
        RateLimiter limiter = RateLimiter.of(new RateLimitConfig("client_ip", 1, 1, 100));
        long t = 5 * SECOND;
        assertThat(limiter.acquire(NONE, InetAddress.getByName("192.0.2.1"), t)).isZero();
        assertThat(limiter.acquire(NONE, InetAddress.getByName("192.0.2.1"), t)).isPositive();
        assertThat(limiter.acquire(NONE, InetAddress.getByName("192.0.2.2"), t)).isZero();
    }

    @Test
    void pastMaxKeysNewKeysShareAnOverflowBucketAndMemoryStaysBounded() throws Exception {
        RateLimiter limiter = RateLimiter.of(new RateLimitConfig("header:X-Key", 1, 1, 10));
        long t = 7 * SECOND;
        int allowed = 0;
        for (int i = 0; i < 1000; i++) {
            HttpHeaders h = new DefaultHttpHeaders().set("X-Key", "k" + i);
            allowed += limiter.acquire(h, null, t) == 0 ? 1 : 0;
        }
        assertThat(limiter.keys()).isLessThanOrEqualTo(10);
        assertThat(allowed).isEqualTo(11);
    }

    @Test
    void longHeaderValuesAreKeptByDigestAndStillHaveTheirOwnBuckets() {
        RateLimiter limiter = RateLimiter.of(new RateLimitConfig("header:X-Key", 1, 1, 100));
        long t = 11 * SECOND;
        String base = "k".repeat(30_000);
        HttpHeaders a = new DefaultHttpHeaders().set("X-Key", base + "a");
        HttpHeaders b = new DefaultHttpHeaders().set("X-Key", base + "b");
        assertThat(limiter.acquire(a, null, t)).isZero();
        assertThat(limiter.acquire(a, null, t)).isPositive();
        // Values that differ only past the first 30,000 chars are different keys.
        assertThat(limiter.acquire(b, null, t)).isZero();
        assertThat(limiter.acquire(b, null, t)).isPositive();
        assertThat(limiter.keys()).isEqualTo(2);
        // Short values are keys as they are, and never meet a digest.
        assertThat(limiter.acquire(new DefaultHttpHeaders().set("X-Key", "short"), null, t)).isZero();
        assertThat(limiter.keys()).isEqualTo(3);
    }

    @Test
    void concurrentRequestsNeverGetMoreThanTheBurst() throws Exception {
        RateLimiter limiter = RateLimiter.of(new RateLimitConfig("route", 0.001, 500, 10));
        long t = 9 * SECOND;
        AtomicInteger allowed = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int j = 0; j < 1000; j++) {
                    if (limiter.acquire(NONE, null, t) == 0) {
                        allowed.incrementAndGet();
                    }
                }
            });
            threads[i].start();
        }
        go.countDown();
        for (Thread th : threads) {
            th.join();
        }
        assertThat(allowed.get()).isEqualTo(500);
    }
}
