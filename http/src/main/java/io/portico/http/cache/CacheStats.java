package io.portico.http.cache;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one {@link HttpCache}, read-only to everyone outside this package. Cheap to update
 * from any event loop (striped adders); {@link #snapshot} reads them all.
 */
public final class CacheStats {

    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder staleServed = new LongAdder();
    final LongAdder revalidated = new LongAdder();
    final LongAdder collapsed = new LongAdder();
    final LongAdder stored = new LongAdder();
    final LongAdder bypassed = new LongAdder();
    final LongAdder evicted = new LongAdder();
    final LongAdder purged = new LongAdder();
    final LongAdder bytesServed = new LongAdder();
    final LongAdder bytesFromFiles = new LongAdder();

    /** Counts one response answered from the cache without the origin (fresh, or stale on purpose). */
    public void hit(boolean stale) {
        hits.increment();
        if (stale) {
            staleServed.increment();
        }
    }

    /** Counts one request that had to go to the origin for a response the cache could have stored. */
    public void miss() {
        misses.increment();
    }

    /** Counts a stale response that stood in for a failing origin. */
    public void staleOnError() {
        staleServed.increment();
    }

    /** Counts a stored response validated by the origin (304). */
    public void revalidated() {
        revalidated.increment();
    }

    /** Counts a request served from another request's fetch. */
    public void collapsed() {
        collapsed.increment();
    }

    /** Counts a request on a cache-enabled route that could not use the cache (method, directives, size). */
    public void bypassed() {
        bypassed.increment();
    }

    /** Counts body bytes served from stored objects. */
    public void served(long bytes) {
        bytesServed.add(bytes);
    }

    /** Counts body bytes of those sent from the disk tier's files (sendfile) rather than copied from memory. */
    public void sentFromFile(long bytes) {
        bytesFromFiles.add(bytes);
    }

    /**
     * The counters at one moment.
     *
     * @param storedBytes bytes held by the memory tier now
     * @param objects     objects held by the memory tier now
     * @param diskBytes   bytes held by the disk tier now
     * @param diskObjects objects held by the disk tier now
     * @param bytesFromFiles body bytes (of {@code bytesServed}) sent from the disk tier's files
     * @param openFiles   body files the disk tier keeps open for sending now
     */
    public record Snapshot(long hits, long misses, long staleServed, long revalidated, long collapsed, long stored,
                           long bypassed, long evicted, long purged, long bytesServed, long storedBytes,
                           long objects, long diskBytes, long diskObjects, long bytesFromFiles, long openFiles) {
    }

    Snapshot snapshot(long storedBytes, long objects, long diskBytes, long diskObjects, long openFiles) {
        return new Snapshot(hits.sum(), misses.sum(), staleServed.sum(), revalidated.sum(), collapsed.sum(),
                stored.sum(), bypassed.sum(), evicted.sum(), purged.sum(), bytesServed.sum(), storedBytes, objects,
                diskBytes, diskObjects, bytesFromFiles.sum(), openFiles);
    }
}
