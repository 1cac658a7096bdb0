package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class DiskStoreTest {

    @TempDir
    Path dir;
    private final EventExecutor loop = new DefaultEventExecutor();
    private HttpCache cache;

    @AfterEach
    void stop() {
        if (cache != null) {
            cache.close();
        }
        loop.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    private HttpCache open(long diskBudget) throws Exception {
        return open(diskBudget, 0);
    }

    private HttpCache open(long diskBudget, long sendfileMinSize) throws Exception {
        return open(1 << 20, diskBudget, sendfileMinSize);
    }

    private HttpCache open(long memoryBytes, long diskBudget, long sendfileMinSize) throws Exception {
        if (cache != null) {
            cache.close();
        }
        cache = new HttpCache(memoryBytes, PooledByteBufAllocator.DEFAULT,
                DiskStore.open(dir, diskBudget, PooledByteBufAllocator.DEFAULT, sendfileMinSize));
        return cache;
    }

    /** The body as the object's open file holds it, read through its descriptor. */
    private static String fileBody(CachedResponse o) throws Exception {
        CachedResponse.BodyFile f = o.bodyFile();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) o.length());
        long pos = f.offset();
        while (b.hasRemaining()) {
            int n = f.channel().read(b, pos);
            assertThat(n).isPositive();
            pos += n;
        }
        return new String(b.array(), StandardCharsets.UTF_8);
    }

    @Test
    void largeBodiesKeepTheirWrittenFileOpenUntilTheObjectIsFreed() throws Exception {
        open(1 << 20, 64 * 1024);
        HttpHeaders response = new DefaultHttpHeaders().add("Cache-Control", "max-age=60");
        String big = "b".repeat(100_000) + "end";
        store("http://h/big", big, response, new DefaultHttpHeaders());
        store("http://h/small", "s".repeat(1000), response, new DefaultHttpHeaders());
        await().until(() -> cache.disk().objects() == 2);
        assertThat(cache.disk().openBodyFiles()).isEqualTo(1);
        CachedResponse o = cache.getExact("http://h/big");
        assertThat(fileBody(o)).isEqualTo(big);
        CachedResponse small = cache.getExact("http://h/small");
        assertThat(small.bodyFile()).isNull();
        small.release();

        // Written again (as after a revalidation): the descriptor it has stays, no second one opens.
        cache.disk().write(o);
        await().until(() -> cache.disk().writes.sum() == 3);
        assertThat(cache.disk().openBodyFiles()).isEqualTo(1);

        // Purged while this reader holds it: the file is unlinked but still reads, until the last reference goes.
        assertThat(cache.purgeUrl("http://h/big")).isEqualTo(1);
        await().until(() -> {
            try (Stream<Path> files = Files.walk(dir)) {
                return files.filter(f -> f.toString().endsWith(".obj")).count() == 1;
            }
        });
        assertThat(fileBody(o)).isEqualTo(big);
        assertThat(cache.disk().openBodyFiles()).isEqualTo(1);
        o.release();
        // Closed on the disk thread: closing a deleted file's last descriptor frees its blocks.
        await().until(() -> cache.disk().openBodyFiles() == 0);
    }

    @Test
    void anObjectReadBackFromDiskKeepsItsFileOpenToo() throws Exception {
        open(1 << 20, 64 * 1024);
        String big = "r".repeat(70_000);
        store("http://h/r", big, new DefaultHttpHeaders().add("Cache-Control", "max-age=60"), new DefaultHttpHeaders());
        await().until(() -> cache.disk().objects() == 1);
        open(1 << 20, 64 * 1024);
        assertThat(cache.disk().openBodyFiles()).isZero();
        CachedResponse o = load("http://h/r");
        assertThat(fileBody(o)).isEqualTo(big);
        assertThat(cache.disk().openBodyFiles()).isEqualTo(1);
        o.release();
        // The memory tier holds it still; closing the cache frees it and its file.
        DiskStore disk = cache.disk();
        cache.close();
        cache = null;
        assertThat(disk.openBodyFiles()).isZero();
    }

    private void store(String url, String body, HttpHeaders response, HttpHeaders request) {
        StoredMeta meta = StoredMeta.of(200, response, CacheRules.DEFAULT, 1000, System.currentTimeMillis());
        CachedResponse o = cache.newObject(url, url, 200, request, meta, HttpCache.tags(response), CacheRules.DEFAULT);
        ByteBuf b = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        o.append(b);
        b.release();
        o.complete();
        cache.store(o, 4);
        o.release();
    }

    private CachedResponse load(String key) throws Exception {
        CompletableFuture<CachedResponse> f = new CompletableFuture<>();
        cache.load(key, loop, f::complete);
        return f.get(5, TimeUnit.SECONDS);
    }

    private static String body(CachedResponse o) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < o.chunkCount(); i++) {
            sb.append(o.chunk(i).toString(StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    @Test
    void aReopenedStoreServesWhatWasWrittenWithItsHeadersTagsAndVariants() throws Exception {
        open(1 << 20);
        HttpHeaders response = new DefaultHttpHeaders().add("Cache-Control", "max-age=60").add("ETag", "\"x\"")
                .add("Vary", "Accept-Language").add("Surrogate-Key", "t1");
        store("http://h/a", "x".repeat(200_000), response, new DefaultHttpHeaders().add("Accept-Language", "de"));
        await().until(() -> cache.disk().objects() == 1);

        open(1 << 20);
        HttpHeaders de = new DefaultHttpHeaders().add("Accept-Language", "de");
        assertThat(cache.get("http://h/a", de)).isNull();
        assertThat(cache.onDisk("http://h/a", new DefaultHttpHeaders().add("Accept-Language", "fr"))).isNull();
        String key = cache.onDisk("http://h/a", de);
        assertThat(key).isNotNull();
        CachedResponse o = load(key);
        assertThat(body(o)).hasSize(200_000);
        assertThat(o.meta().headers().get("ETag")).isEqualTo("\"x\"");
        assertThat(o.meta().lifetime()).isEqualTo(60_000);
        assertThat(o.isComplete()).isTrue();
        o.release();
        // Promoted: the next lookup is a memory hit.
        CachedResponse again = cache.get("http://h/a", de);
        assertThat(again).isNotNull();
        again.release();
        assertThat(cache.purgeTag("t1")).isEqualTo(1);
        await().until(() -> cache.disk().objects() == 0 && files() == 0);
    }

    /**
     * Starts reading {@code key} back from disk while the loop is held, so its answer waits;
     * returns once the disk thread has read the file.
     */
    private CompletableFuture<CachedResponse> loadHeldBack(String key, CountDownLatch hold) {
        loop.execute(() -> {
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        CompletableFuture<CachedResponse> f = new CompletableFuture<>();
        cache.load(key, loop, f::complete);
        await().until(() -> cache.disk().loads.sum() == 1);
        return f;
    }

    @Test
    void aPurgeWhileTheDiskTierReadsTheObjectBackIsFinal() throws Exception {
        open(1 << 20);
        store("http://h/p", "secret", new DefaultHttpHeaders().add("Cache-Control", "max-age=600").add("Cache-Tag", "t"),
                new DefaultHttpHeaders());
        await().until(() -> cache.disk().objects() == 1);
        open(1 << 20);
        CountDownLatch hold = new CountDownLatch(1);
        try {
            CompletableFuture<CachedResponse> loaded = loadHeldBack("http://h/p", hold);
            assertThat(cache.purgeUrl("http://h/p")).isEqualTo(1);
            hold.countDown();
            // The copy read before the purge answers nobody: a miss.
            assertThat(loaded.get(5, TimeUnit.SECONDS)).isNull();
        } finally {
            hold.countDown();
        }
        assertThat(cache.get("http://h/p", new DefaultHttpHeaders())).isNull();
        assertThat(cache.contains("http://h/p")).isFalse();
        assertThat(cache.onDisk("http://h/p", new DefaultHttpHeaders())).isNull();
        assertThat(cache.purgeTag("t")).isZero();
        await().until(() -> files() == 0);
    }

    @Test
    void anObjectStoredWhileTheDiskTierReadsTheOldCopyIsKept() throws Exception {
        open(1 << 20);
        HttpHeaders response = new DefaultHttpHeaders().add("Cache-Control", "max-age=600");
        store("http://h/n", "old", response, new DefaultHttpHeaders());
        await().until(() -> cache.disk().objects() == 1);
        open(1 << 20);
        CountDownLatch hold = new CountDownLatch(1);
        try {
            CompletableFuture<CachedResponse> loaded = loadHeldBack("http://h/n", hold);
            store("http://h/n", "new", response, new DefaultHttpHeaders());
            hold.countDown();
            CachedResponse o = loaded.get(5, TimeUnit.SECONDS);
            assertThat(body(o)).isEqualTo("new");
            o.release();
        } finally {
            hold.countDown();
        }
        CachedResponse now = cache.get("http://h/n", new DefaultHttpHeaders());
        assertThat(body(now)).isEqualTo("new");
        now.release();
        await().until(() -> cache.disk().writes.sum() == 1);
        assertThat(cache.purgeUrl("http://h/n")).isEqualTo(1);
    }

    /** Writes a response to the disk tier alone, as it arrived at {@code responseTime}, bypassing the memory tier's index. */
    private void writeToDisk(String url, String body, HttpHeaders response, HttpHeaders request, long responseTime) {
        StoredMeta meta = StoredMeta.of(200, response, CacheRules.DEFAULT, responseTime, responseTime);
        CachedResponse o = cache.newObject(url, url, 200, request, meta, HttpCache.tags(response), CacheRules.DEFAULT);
        ByteBuf b = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        o.append(b);
        b.release();
        o.complete();
        cache.disk().write(o);
        o.release();
    }

    @Test
    void atStartupTheNewerOfAPlainAndAVaryingResponseForOneUrlWinsWhateverTheFileOrder() throws Exception {
        HttpHeaders de = new DefaultHttpHeaders().add("Accept-Language", "de");
        HttpHeaders plain = new DefaultHttpHeaders().add("Cache-Control", "max-age=600");
        HttpHeaders varying = new DefaultHttpHeaders().add("Cache-Control", "max-age=600").add("Vary", "Accept-Language");
        String variant = HttpCache.variantKey("http://h/v", Vary.selectingValues(java.util.List.of("accept-language"), de));
        long now = System.currentTimeMillis();

        // Both files left by an older version; the directory's order is the same both times.
        open(1 << 20);
        writeToDisk("http://h/v", "plain", plain, new DefaultHttpHeaders(), now - 2000);
        writeToDisk("http://h/v", "de", varying, de, now - 1000);
        await().until(() -> cache.disk().objects() == 2);
        open(1 << 20);
        assertThat(cache.onDisk("http://h/v", de)).isEqualTo(variant);
        assertThat(cache.onDisk("http://h/v", new DefaultHttpHeaders())).isNull();
        await().until(() -> cache.disk().objects() == 1 && files() == 1);

        writeToDisk("http://h/v", "plain", plain, new DefaultHttpHeaders(), now);
        await().until(() -> cache.disk().objects() == 2);
        open(1 << 20);
        assertThat(cache.onDisk("http://h/v", de)).isEqualTo("http://h/v");
        assertThat(cache.disk().contains(variant)).isFalse();
        await().until(() -> files() == 1);
        CachedResponse o = load("http://h/v");
        assertThat(body(o)).isEqualTo("plain");
        o.release();
    }

    @Test
    void theBudgetDropsTheLeastRecentlyUsedFilesAndSkipsObjectsLargerThanIt() throws Exception {
        // Each file takes three 4 KiB blocks (10,000 bytes and its head), 12,288 bytes of the budget.
        open(30_000);
        for (int i = 0; i < 5; i++) {
            store("http://h/" + i, "y".repeat(10_000), new DefaultHttpHeaders(), new DefaultHttpHeaders());
        }
        store("http://h/huge", "z".repeat(30_000), new DefaultHttpHeaders(), new DefaultHttpHeaders());
        await().until(() -> cache.disk().writes.sum() == 5);
        assertThat(cache.disk().usedBytes()).isEqualTo(2 * 12_288);
        assertThat(cache.disk().objects()).isEqualTo(2);
        assertThat(cache.disk().contains("http://h/4")).isTrue();
        assertThat(cache.disk().contains("http://h/huge")).isFalse();
    }

    @Test
    void objectsTheDiskTierDropsAfterMemoryDidLeaveThePurgeIndexes() throws Exception {
        // Memory keeps about two 10 KB objects, the disk about five: the rest pass through both.
        open(25_000, 55_000, 0);
        DefaultHttpHeaders tagged = new DefaultHttpHeaders();
        tagged.set("Surrogate-Key", "all");
        for (int i = 0; i < 40; i++) {
            store("http://h/" + i + "?client-chosen", "y".repeat(10_000), tagged, new DefaultHttpHeaders());
        }
        await().until(() -> cache.disk().writes.sum() == 40);
        int stored = 0;
        for (int i = 0; i < 40; i++) {
            String key = "http://h/" + i + "?client-chosen";
            CachedResponse inMemory = cache.get(key, new DefaultHttpHeaders());
            if (inMemory != null) {
                inMemory.release();
            }
            if (inMemory != null || cache.disk().contains(key)) {
                stored++;
            }
        }
        // A URL and a tag entry for each object still stored, none for the 30-odd gone from both tiers
        // (they stayed for good: every URL a client ever had stored).
        assertThat(stored).isBetween(4, 8);
        assertThat(cache.indexEntries()).isEqualTo(2 * stored);
        assertThat(cache.purgeTag("all")).isEqualTo(stored);
        assertThat(cache.indexEntries()).isZero();
    }

    @Test
    void aPurgeOfObjectsStillQueuedForTheDiskLeavesNoIndexEntries() throws Exception {
        // Memory holds one 10 KB object: the others are only queued for the disk when purged.
        open(15_000, 1 << 20, 0);
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        cache.disk().onDiskThread(() -> {
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        DefaultHttpHeaders tagged = new DefaultHttpHeaders();
        tagged.set("Surrogate-Key", "queued");
        for (int i = 0; i < 5; i++) {
            store("http://h/q" + i, "y".repeat(10_000), tagged, new DefaultHttpHeaders());
        }
        assertThat(cache.purgeTag("queued")).isEqualTo(5);
        assertThat(cache.indexEntries()).isZero();
        hold.countDown();
        await().until(() -> cache.disk().objects() == 0 && files() == 0);
        assertThat(cache.indexEntries()).isZero();
    }

    @Test
    void aNewerResponseWithOtherTagsIsNotPurgedByTheOldOnes() throws Exception {
        open(1 << 20);
        DefaultHttpHeaders v1 = new DefaultHttpHeaders();
        v1.set("Surrogate-Key", "release-1 product");
        store("http://h/p", "one", v1, new DefaultHttpHeaders());
        await().until(() -> cache.disk().contains("http://h/p"));
        DefaultHttpHeaders v2 = new DefaultHttpHeaders();
        v2.set("Surrogate-Key", "release-2 product");
        store("http://h/p", "two", v2, new DefaultHttpHeaders());
        await().until(() -> cache.disk().writes.sum() == 2);
        assertThat(cache.purgeTag("release-1")).isZero();
        CachedResponse o = cache.get("http://h/p", new DefaultHttpHeaders());
        assertThat(body(o)).isEqualTo("two");
        o.release();
        assertThat(cache.indexEntries()).isEqualTo(3);
        assertThat(cache.purgeTag("release-2")).isEqualTo(1);
    }

    @Test
    void corruptFilesAreDroppedAtStartup() throws Exception {
        open(1 << 20);
        store("http://h/c", "c", new DefaultHttpHeaders(), new DefaultHttpHeaders());
        await().until(() -> cache.disk().objects() == 1);
        cache.close();
        cache = null;
        try (Stream<Path> files = Files.walk(dir)) {
            Path f = files.filter(p -> p.toString().endsWith(".obj")).findFirst().orElseThrow();
            Files.write(f, new byte[] {1, 2, 3});
        }
        open(1 << 20);
        assertThat(cache.disk().objects()).isZero();
        assertThat(files()).isZero();
    }

    @Test
    void failingWritesTurnTheDiskTierOffWithoutFailingTheCache() throws Exception {
        open(1 << 20);
        // The directory disappears under the running store, replaced by a plain file.
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
        }
        Files.delete(dir);
        Files.writeString(dir, "not a directory");
        store("http://h/f", "f", new DefaultHttpHeaders(), new DefaultHttpHeaders());
        await().until(() -> cache.disk().failing());
        CachedResponse fromMemory = cache.get("http://h/f", new DefaultHttpHeaders());
        assertThat(body(fromMemory)).isEqualTo("f");
        fromMemory.release();
        Files.delete(dir);
        Files.createDirectories(dir);
    }

    @Test
    void aPathThatIsNotADirectoryCannotBeOpened() throws Exception {
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        assertThatThrownBy(() -> DiskStore.open(file, 1 << 20, PooledByteBufAllocator.DEFAULT, 0))
                .isInstanceOf(java.io.IOException.class);
    }

    private long files() throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".obj")).count();
        }
    }
}
