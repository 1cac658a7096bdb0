package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.concurrent.EventExecutor;

import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One stored response: status, {@link StoredMeta} (header fields and times, swapped on
 * validation) and the body as a list of off-heap chunks.
 *
 * <p><b>Read while write.</b> One filler appends chunks; any number of readers on any event loop
 * read chunk {@code i} once {@link #chunkCount()} says it is there. A reader that has caught up
 * registers with {@link #awaitMore} and is run on its own executor when the next chunk arrives or
 * the body ends. Readers of a complete object never take a lock.
 *
 * <p><b>Lifetime.</b> Reference counted: the store holds one reference while the object is
 * stored, each reader one while it streams. Eviction drops the store's reference; the chunks are
 * freed when the last reader is done, so an eviction never pulls bytes from under a reader.
 *
 * <p><b>Body file.</b> A large object the disk tier has written (or read back) keeps that file
 * open beside its chunks ({@link #bodyFile()}), so a plain HTTP/1.1 hit can be sent with
 * sendfile(2) or splice instead of being copied out of memory; the file closes with the object.
 */
public final class CachedResponse extends AbstractReferenceCounted {

    private static final int FILLING = 0;
    private static final int COMPLETE = 1;
    private static final int FAILED = 2;

    private final String key;
    private final String baseKey;
    private final String url;
    private final List<String> tags;
    private final int status;
    private final List<String> varyNames;
    private final String selecting;
    private final ByteBufAllocator alloc;
    private final long maxBytes;
    private volatile StoredMeta meta;

    private volatile ByteBuf[] chunks = new ByteBuf[4];
    private volatile int chunkCount;
    private volatile long length;
    private volatile int state = FILLING;
    private final List<Waiter> waiters = new ArrayList<>(2);
    /** The disk tier's file of this body, open for sending, or null; set once, by the disk thread. */
    private volatile BodyFile bodyFile;
    /** What a server keeps with this object to answer from it faster (its head, encoded), or null. */
    private volatile Object servingHead;

    /**
     * Where this object's body lies in a file the disk tier wrote: {@code length} bytes from
     * {@code offset} of {@code channel}, which is open for reading and stays open while the object
     * lives; {@code closer} closes it when the object is freed (the disk tier does that on its own
     * thread: closing the last descriptor of a file already deleted frees its blocks).
     */
    public record BodyFile(FileChannel channel, long offset, Consumer<FileChannel> closer) {
    }

    private record Waiter(EventExecutor executor, Runnable task) {
    }

    CachedResponse(String key, String baseKey, String url, List<String> tags, int status, List<String> varyNames,
                   String selecting, StoredMeta meta, ByteBufAllocator alloc, long maxBytes) {
        this.key = key;
        this.baseKey = baseKey;
        this.url = url;
        this.tags = List.copyOf(tags);
        this.status = status;
        this.varyNames = varyNames;
        this.selecting = selecting;
        this.meta = meta;
        this.alloc = alloc;
        this.maxBytes = maxBytes;
    }

    /** A complete object read back from the disk tier; it takes over {@code body}'s buffers. */
    static CachedResponse loaded(String key, String baseKey, String url, List<String> tags, int status,
                                 List<String> varyNames, String selecting, StoredMeta meta, ByteBufAllocator alloc,
                                 long maxBytes, List<ByteBuf> body, long length) {
        CachedResponse o = new CachedResponse(key, baseKey, url, tags, status, varyNames, selecting, meta, alloc, maxBytes);
        ByteBuf[] arr = body.toArray(new ByteBuf[Math.max(4, body.size())]);
        o.chunks = arr;
        o.length = length;
        o.chunkCount = body.size();
        o.state = COMPLETE;
        return o;
    }

    /** The normalised selecting values this variant was stored for ("" without Vary). */
    String selecting() {
        return selecting;
    }

    public String key() {
        return key;
    }

    public String baseKey() {
        return baseKey;
    }

    /** Scheme, host, path and query of the request that filled it (purge and invalidation go by it). */
    public String url() {
        return url;
    }

    /** Surrogate keys from {@code Surrogate-Key}/{@code Cache-Tag}, for purge by tag. */
    public List<String> tags() {
        return tags;
    }

    public int status() {
        return status;
    }

    public StoredMeta meta() {
        return meta;
    }

    /** Field names the stored response varies on (lower case, sorted). */
    public List<String> varyNames() {
        return varyNames;
    }

    /** Whether this variant was selected by the same normalised values as {@code selectingValues}. */
    public boolean matches(String selectingValues) {
        return selectingValues != null && selecting.equals(selectingValues);
    }

    /** Replaces header fields and times after a successful validation (RFC 9111 section 4.3.4). */
    public void freshen(StoredMeta newMeta) {
        this.meta = newMeta;
    }

    // ---- body ------------------------------------------------------------------------------------

    /**
     * Copies {@code data}'s readable bytes into the body (the caller keeps ownership of {@code data})
     * and wakes waiting readers.
     *
     * @return false when the body would exceed the object's limit: the caller must {@link #fail} it
     */
    public boolean append(ByteBuf data) {
        int n = data.readableBytes();
        if (n == 0) {
            return true;
        }
        if (length + n > maxBytes) {
            return false;
        }
        ByteBuf copy = alloc.directBuffer(n, n);
        copy.writeBytes(data, data.readerIndex(), n);
        ByteBuf[] arr = chunks;
        int count = chunkCount;
        if (count == arr.length) {
            ByteBuf[] grown = new ByteBuf[arr.length * 2];
            System.arraycopy(arr, 0, grown, 0, count);
            arr = grown;
            chunks = grown;
        }
        arr[count] = copy;
        length += n;
        chunkCount = count + 1;
        wakeWaiters();
        return true;
    }

    /** The body is complete. */
    public void complete() {
        state = COMPLETE;
        wakeWaiters();
    }

    /** The fill broke off: readers that caught up see {@link #failed()} and end their response. */
    public void fail() {
        state = FAILED;
        wakeWaiters();
    }

    public boolean isComplete() {
        return state == COMPLETE;
    }

    public boolean failed() {
        return state == FAILED;
    }

    /** Chunks published so far. */
    public int chunkCount() {
        return chunkCount;
    }

    /** Chunk {@code i} (below {@link #chunkCount()}); the caller takes a retained duplicate to write it. */
    public ByteBuf chunk(int i) {
        return chunks[i];
    }

    /** Body bytes published so far; the full length once complete. */
    public long length() {
        return length;
    }

    /**
     * Registers {@code task} to run on {@code executor} when chunk {@code index} arrives or the fill
     * ends.
     *
     * @return false when there is no need to wait (the chunk is there or the fill ended)
     */
    public boolean awaitMore(int index, EventExecutor executor, Runnable task) {
        synchronized (waiters) {
            if (chunkCount > index || state != FILLING) {
                return false;
            }
            waiters.add(new Waiter(executor, task));
            return true;
        }
    }

    private void wakeWaiters() {
        Waiter[] wake;
        synchronized (waiters) {
            if (waiters.isEmpty()) {
                return;
            }
            wake = waiters.toArray(new Waiter[0]);
            waiters.clear();
        }
        for (Waiter w : wake) {
            w.executor().execute(w.task());
        }
    }

    /**
     * Keeps {@code file} as this object's body file. The caller (the disk thread, the only one)
     * holds a reference, so the object cannot be freed meanwhile. False when the object has a
     * file already: the caller then closes the channel itself.
     */
    boolean attachBodyFile(BodyFile file) {
        if (bodyFile != null || state != COMPLETE) {
            return false;
        }
        bodyFile = file;
        return true;
    }

    /** The open file holding this (complete) body, or null; valid while the caller holds a reference. */
    public BodyFile bodyFile() {
        return bodyFile;
    }

    /**
     * What the server last kept with this object to serve it (see {@link #servingHead(Object)}), or
     * null. The server checks it was made for this object's current {@link #meta()}.
     */
    public Object servingHead() {
        return servingHead;
    }

    /**
     * Keeps {@code head} with this object for later hits: an encoded response head, derived from
     * {@link #meta()}, immutable (it is read on other event loops without a lock). Its bytes are
     * counted in {@link #weight()} ahead, as a second copy of the header fields.
     */
    public void servingHead(Object head) {
        this.servingHead = head;
    }

    /** Bytes this object holds, for the memory tier's weigher. */
    int weight() {
        long headerBytes = 0;
        for (var e : meta.headers()) {
            headerBytes += e.getKey().length() + e.getValue().length() + 4;
        }
        // The fields twice: as the header map, and encoded for hits (servingHead).
        long w = length + 2 * headerBytes + key.length() * 2L + 256;
        return (int) Math.min(Integer.MAX_VALUE, w);
    }

    @Override
    protected void deallocate() {
        BodyFile file = bodyFile;
        if (file != null) {
            bodyFile = null;
            file.closer().accept(file.channel());
        }
        ByteBuf[] arr = chunks;
        int count = chunkCount;
        for (int i = 0; i < count; i++) {
            arr[i].release();
            arr[i] = null;
        }
    }

    @Override
    public CachedResponse touch(Object hint) {
        return this;
    }

    @Override
    public CachedResponse retain() {
        super.retain();
        return this;
    }

    @Override
    public String toString() {
        return "CachedResponse[" + key + ", " + status + ", " + length + " bytes]";
    }
}
