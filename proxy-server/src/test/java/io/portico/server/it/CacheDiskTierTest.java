package io.portico.server.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The disk tier as a user sees it: warm restarts, memory evictions served from disk, a bad disk is no error. */
class CacheDiskTierTest {

    @TempDir
    Path tmp;
    private ScriptedOrigin origin;
    private PorticoHarness portico;

    @AfterEach
    void stop() {
        if (portico != null) {
            portico.close();
        }
        if (origin != null) {
            origin.close();
        }
    }

    private PorticoHarness start(String cacheGlobal) throws Exception {
        return PorticoHarness.start("""
                upstreams:
                  origin:
                    backends:
                      - address: 127.0.0.1:%d
                servers:
                  - default: true
                    routes:
                      - match: { prefix: / }
                        upstream: origin
                        cache:
                          enabled: true
                cache:
                %s
                """.formatted(origin.port(), cacheGlobal.indent(2)));
    }

    private HttpResponse<String> get(String path) throws Exception {
        return PorticoHarness.client().send(HttpRequest.newBuilder(portico.uri(path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** As a client of a site would: the same Host whichever port this run's Portico listens on. */
    private HttpResponse<String> getSite(String path) throws Exception {
        return PorticoHarness.client().send(HttpRequest.newBuilder(portico.uri(path)).header("Host", "cdn.test").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aRestartedNodeComesBackWarm() throws Exception {
        origin = new ScriptedOrigin();
        origin.on("/warm", r -> ScriptedOrigin.Reply.ok("still here", "Cache-Control", "max-age=600", "ETag", "\"w\""));
        String disk = "disk_path: " + tmp.resolve("cache");
        portico = start(disk);
        assertThat(getSite("/warm").body()).isEqualTo("still here");
        await().until(() -> portico.server().cache().stats().diskObjects() == 1);
        portico.close();

        portico = start(disk);
        HttpResponse<String> r = getSite("/warm");
        assertThat(r.body()).isEqualTo("still here");
        assertThat(r.headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        assertThat(r.headers().firstValue("etag")).hasValue("\"w\"");
        assertThat(origin.hits("/warm")).isEqualTo(1);
    }

    @Test
    void objectsEvictedFromMemoryAreServedFromDisk() throws Exception {
        origin = new ScriptedOrigin();
        origin.on("/obj", r -> ScriptedOrigin.Reply.ok("o".repeat(300_000), "Cache-Control", "max-age=600"));
        portico = start("memory_size: 1m\ndisk_path: " + tmp.resolve("cache"));
        for (int i = 0; i < 8; i++) {
            get("/obj?n=" + i);
        }
        await().until(() -> portico.server().cache().stats().diskObjects() == 8);
        assertThat(portico.server().cache().stats().evicted()).isGreaterThan(0);
        for (int i = 0; i < 8; i++) {
            HttpResponse<String> r = get("/obj?n=" + i);
            assertThat(r.body()).hasSize(300_000);
            assertThat(r.headers().firstValue("cache-status").orElse("")).as("n=%d", i).startsWith("portico; hit");
        }
        assertThat(origin.hits("/obj")).isEqualTo(8);
    }

    @Test
    void aPurgeWhileTheOriginConfirmsTheStoredResponseStaysAPurge() throws Exception {
        origin = new ScriptedOrigin();
        java.util.concurrent.CompletableFuture<Void> purged = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        origin.on("/rev", r -> {
            if (n.incrementAndGet() == 1) {
                return ScriptedOrigin.Reply.ok("old", "Cache-Control", "max-age=0", "ETag", "\"r\"");
            }
            if (n.get() == 2) {
                // The revalidation: the operator purges the URL before the origin's 304 is in.
                purged.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();
                return ScriptedOrigin.Reply.of(304, "", "Cache-Control", "max-age=600", "ETag", "\"r\"");
            }
            return ScriptedOrigin.Reply.ok("new", "Cache-Control", "max-age=600", "ETag", "\"r2\"");
        });
        origin.on("/flush", r -> ScriptedOrigin.Reply.ok("f", "Cache-Control", "max-age=600"));
        portico = start("disk_path: " + tmp.resolve("cache"));
        assertThat(get("/rev").body()).isEqualTo("old");
        await().until(() -> portico.server().cache().stats().diskObjects() == 1);
        java.util.concurrent.CompletableFuture<HttpResponse<String>> revalidating = PorticoHarness.client().sendAsync(
                HttpRequest.newBuilder(portico.uri("/rev")).build(), HttpResponse.BodyHandlers.ofString());
        await().until(() -> origin.hits("/rev") == 2);
        assertThat(portico.server().cache().purgeAll()).isEqualTo(1);
        purged.complete(null);
        assertThat(revalidating.get(10, java.util.concurrent.TimeUnit.SECONDS).body()).isEqualTo("old");
        // The disk thread writes in order: once this later object is on disk, any write of the
        // purged one would be too.
        get("/flush");
        await().until(() -> portico.server().cache().disk().contains("http://127.0.0.1:" + portico.port() + "/flush"));
        assertThat(portico.server().cache().stats().diskObjects()).isEqualTo(1);
        HttpResponse<String> after = get("/rev");
        assertThat(after.body()).isEqualTo("new");
        assertThat(origin.hits("/rev")).isEqualTo(3);
    }

    @Test
    void anUnusableDiskDirectoryMeansMemoryOnlyNotErrors() throws Exception {
        origin = new ScriptedOrigin();
        origin.on("/m", r -> ScriptedOrigin.Reply.ok("m", "Cache-Control", "max-age=600"));
        Path notADirectory = tmp.resolve("file");
        Files.writeString(notADirectory, "x");
        portico = start("disk_path: " + notADirectory);
        assertThat(portico.server().warnings()).anyMatch(w -> w.startsWith("cache disk tier off"));
        assertThat(get("/m").statusCode()).isEqualTo(200);
        HttpResponse<String> again = get("/m");
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(again.headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
    }

    @Test
    void aFullDiskBudgetOrFailingWritesAreBypassedNotErrors() throws Exception {
        origin = new ScriptedOrigin();
        origin.on("/big", r -> ScriptedOrigin.Reply.ok("b".repeat(5000), "Cache-Control", "max-age=600"));
        origin.on("/after", r -> ScriptedOrigin.Reply.ok("a", "Cache-Control", "max-age=600"));
        Path dir = tmp.resolve("cache");
        portico = start("disk_path: " + dir + "\ndisk_size: 1k");
        assertThat(get("/big").body()).hasSize(5000);
        assertThat(get("/big").headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
        assertThat(portico.server().cache().stats().diskObjects()).isZero();
        // The directory goes away under the running node: writes fail, requests do not.
        Files.walk(dir).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        Files.writeString(dir, "gone");
        assertThat(get("/after").statusCode()).isEqualTo(200);
        await().until(() -> portico.server().cache().disk().failing());
        HttpResponse<String> hit = get("/after");
        assertThat(hit.statusCode()).isEqualTo(200);
        assertThat(hit.headers().firstValue("cache-status").orElse("")).startsWith("portico; hit");
    }
}
