package io.portico.http.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.concurrent.EventExecutor;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The disk tier: one file per stored response under a directory, within a size budget (the least
 * recently used files go first). A file holds the response's key, URL, tags, Vary selection,
 * {@link StoredMeta} and body, so the directory is its own index: {@link #open} reads the file
 * heads back and a restarted node comes back warm.
 *
 * <p>All file I/O runs on one dedicated thread ({@code portico-cache-disk}), never on an event
 * loop; loads complete back on the caller's event loop. The queue is bounded: when it is full a
 * write is skipped. A write that fails (disk full, directory gone, I/O error) turns writes off for
 * {@link #FAILING_NANOS}; the cache then works from memory alone. Nothing here ever fails a client
 * request: a failed load is a miss.
 *
 * <p>An object of at least {@code sendfileMinSize} bytes keeps the file it was written to (or read
 * from) open as its {@linkplain CachedResponse#bodyFile() body file} while it is in memory, so hits
 * can be sent from the page cache without a copy. The descriptors come from one cap (a quarter of
 * the process's descriptor limit); past it, objects are served from memory as before. The body
 * file is the same inode the object was written to: a later rewrite renames a new file over the
 * path and never changes what an open descriptor reads. The hit itself reads the file with
 * sendfile on the event loop (from the page cache, or from disk if its pages were dropped, as
 * nginx's sendfile does); descriptors are closed on this store's thread.
 */
public final class DiskStore implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("portico");
    private static final int MAGIC = 0x50434f31; // "PCO1"
    private static final int READ_CHUNK = 64 * 1024;
    static final long FAILING_NANOS = TimeUnit.SECONDS.toNanos(30);
    /** The unit files are counted in against the budget (see {@link Entry#size}). */
    static final long BLOCK = 4096;

    /** What the index knows of one file. */
    static final class Entry {
        final String key;
        final String baseKey;
        final String url;
        final List<String> tags;
        final List<String> varyNames;
        final Path file;
        /**
         * What the file counts against the budget: its length in whole 4 KiB blocks, as nginx counts
         * {@code max_size} (a file takes whole blocks on disk). It also bounds how many entries
         * the in-heap index holds: at most the budget over 4 KiB, however small the objects.
         */
        final long size;
        /** When the stored response arrived (epoch millis): which of two files for a base key is newer. */
        final long responseTime;
        volatile long lastAccess;

        Entry(String key, String baseKey, String url, List<String> tags, List<String> varyNames, Path file, long size,
              long responseTime, long lastAccess) {
            this.key = key;
            this.baseKey = baseKey;
            this.url = url;
            this.tags = tags;
            this.varyNames = varyNames;
            this.file = file;
            this.size = (size + BLOCK - 1) / BLOCK * BLOCK;
            this.responseTime = responseTime;
            this.lastAccess = lastAccess;
        }
    }

    /**
     * Told of an object this store let go of by itself, not at the cache's asking: evicted over
     * the budget, a write that failed, a file written again for a newer response. The cache's
     * URL, tag and Vary indexes keep an object's key while it is on disk after it left memory, and
     * only this tells them it is gone.
     */
    interface Released {
        void released(String key, String baseKey, String url, List<String> tags);
    }

    /** A copy held for a key (in memory, on disk, or on its way there): what it is indexed under. */
    record Held(String url, List<String> tags, String baseKey) {
    }

    private final Path dir;
    private final long budget;
    /** Eviction over the budget goes down to this: one sort of the index frees room for many writes. */
    private final long lowWater;
    private volatile Released released = (key, baseKey, url, tags) -> { };
    private final ByteBufAllocator alloc;
    private final ThreadPoolExecutor io;
    /** Smallest body kept open for sending from its file; 0: none. */
    private final long sendfileMinSize;
    private final int maxOpenBodies;
    private final AtomicInteger openBodies = new AtomicInteger();
    /** Closes a body file on the disk thread (inline once it has stopped), then counts it closed. */
    private final Consumer<FileChannel> bodyCloser = this::closeBody;
    private final ConcurrentHashMap<String, Entry> index = new ConcurrentHashMap<>();
    /** Writes queued and not done, by key: a purge meanwhile cancels the write. */
    private final ConcurrentHashMap<String, CachedResponse> pending = new ConcurrentHashMap<>();
    private final AtomicLong used = new AtomicLong();
    private volatile long failingSince;
    private volatile boolean failing;
    final LongAdder writes = new LongAdder();
    final LongAdder writeFailures = new LongAdder();
    final LongAdder skipped = new LongAdder();
    final LongAdder loads = new LongAdder();
    final LongAdder loadFailures = new LongAdder();

    private DiskStore(Path dir, long budget, ByteBufAllocator alloc, long sendfileMinSize) {
        this.dir = dir;
        this.budget = budget;
        this.lowWater = budget - budget / 20;
        this.alloc = alloc;
        this.sendfileMinSize = sendfileMinSize;
        this.maxOpenBodies = sendfileMinSize <= 0 ? 0 : descriptorShare();
        this.io = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4096), r -> {
            Thread t = new Thread(r, "portico-cache-disk");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Opens (creating it if needed) the directory and reads the heads of the files already there.
     *
     * @param sendfileMinSize bodies this large keep their file open for sending from it; 0: never
     * @throws IOException when the directory cannot be created, listed or written
     */
    public static DiskStore open(Path dir, long budget, ByteBufAllocator alloc, long sendfileMinSize)
            throws IOException {
        Files.createDirectories(dir);
        Path probe = Files.createTempFile(dir, "probe", ".tmp");
        Files.delete(probe);
        DiskStore store = new DiskStore(dir, budget, alloc, sendfileMinSize);
        store.scan();
        return store;
    }

    private void scan() throws IOException {
        try (Stream<Path> files = Files.walk(dir, 2)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    Files.deleteIfExists(f);
                } else if (name.endsWith(".obj")) {
                    try {
                        Entry e = readHead(f);
                        Entry old = index.put(e.key, e);
                        used.addAndGet(e.size - (old == null ? 0 : old.size));
                    } catch (IOException | RuntimeException corrupt) {
                        LOG.log(System.Logger.Level.WARNING, "cache disk tier: dropping unreadable " + f + ": " + corrupt);
                        Files.deleteIfExists(f);
                    }
                }
            }
        }
        evictOverBudget();
    }

    /** Who hears of objects this store lets go of by itself (see {@link Released}). */
    void onReleased(Released listener) {
        released = listener;
    }

    /** The copies held for {@code key}: one queued for writing, one on disk, both or none. */
    List<Held> held(String key) {
        CachedResponse queued = pending.get(key);
        Entry e = index.get(key);
        if (queued == null) {
            return e == null ? List.of() : List.of(new Held(e.url, e.tags, e.baseKey));
        }
        Held q = new Held(queued.url(), queued.tags(), queued.baseKey());
        return e == null ? List.of(q) : List.of(q, new Held(e.url, e.tags, e.baseKey));
    }

    /** Runs {@code task} on the disk thread, behind the writes queued now (tests hold the writes back with it). */
    void onDiskThread(Runnable task) {
        io.execute(task);
    }

    /** Entries found on disk (at startup, for the cache to rebuild its URL, tag and Vary indexes). */
    Collection<Entry> entries() {
        return index.values();
    }

    Entry entry(String key) {
        return index.get(key);
    }

    public boolean contains(String key) {
        return index.containsKey(key);
    }

    /** On disk, or on its way there. */
    boolean holds(String key) {
        return index.containsKey(key) || pending.containsKey(key);
    }

    /** Bytes the files take now. */
    public long usedBytes() {
        return used.get();
    }

    /** Objects on disk now. */
    public int objects() {
        return index.size();
    }

    /** Whether writes are off after a failure. */
    public boolean failing() {
        return failing && System.nanoTime() - failingSince < FAILING_NANOS;
    }

    /** Writes a complete object (again, after a revalidation) in the background. */
    void write(CachedResponse object) {
        if (!object.isComplete() || failing() || object.length() > lowWater) {
            skipped.increment();
            return;
        }
        object.retain();
        pending.put(object.key(), object);
        try {
            io.execute(() -> {
                try {
                    writeNow(object);
                } finally {
                    object.release();
                }
            });
        } catch (RejectedExecutionException full) {
            skipped.increment();
            pending.remove(object.key(), object);
            object.release();
        }
    }

    private void writeNow(CachedResponse o) {
        if (pending.get(o.key()) != o) {
            // Purged, or a newer write for the key is queued behind this one.
            return;
        }
        Path file = fileOf(o.key());
        Path tmp = file.resolveSibling(file.getFileName() + "." + Thread.currentThread().getId() + ".tmp");
        FileChannel ch = null;
        try {
            Files.createDirectories(file.getParent());
            byte[] head = encodeHead(o);
            ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
            ByteBuffer prefix = ByteBuffer.allocate(8).putInt(MAGIC).putInt(head.length).flip();
            writeFully(ch, prefix);
            writeFully(ch, ByteBuffer.wrap(head));
            writeFully(ch, ByteBuffer.allocate(8).putLong(o.length()).flip());
            long bodyOffset = ch.position();
            long pos = bodyOffset;
            for (int i = 0; i < o.chunkCount(); i++) {
                ByteBuf c = o.chunk(i);
                int n = c.readableBytes();
                int done = 0;
                while (done < n) {
                    done += c.getBytes(c.readerIndex() + done, ch, pos + done, n - done);
                }
                pos += n;
            }
            long size = pos;
            if (pending.get(o.key()) != o) {
                // Purged while it was being written.
                ch.close();
                ch = null;
                Files.deleteIfExists(tmp);
                return;
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            // The descriptor follows the inode through the rename: it reads this body for as long as it is open.
            if (keepOpen(o, ch, bodyOffset)) {
                ch = null;
            }
            Entry e = new Entry(o.key(), o.baseKey(), o.url(), o.tags(), o.varyNames(), file, size,
                    o.meta().responseTime(), System.currentTimeMillis());
            Entry old = index.put(o.key(), e);
            used.addAndGet(e.size - (old == null ? 0 : old.size));
            // In the index before it leaves the queue: the cache's indexes ask whether the disk holds
            // the key, and it must be one or the other all along. A purge since the check above
            // queued its delete behind this write, which takes the entry and the file away again.
            pending.remove(o.key(), o);
            if (old != null) {
                // Written again for a newer response, which may go by another URL or other tags.
                released.released(old.key, old.baseKey, old.url, old.tags);
            }
            failing = false;
            evictOverBudget();
            writes.increment();
        } catch (IOException | RuntimeException e) {
            if (pending.remove(o.key(), o)) {
                released.released(o.key(), o.baseKey(), o.url(), o.tags());
            }
            writeFailures.increment();
            if (!failing()) {
                LOG.log(System.Logger.Level.WARNING, "cache disk tier: writes off for 30s after a failure: " + e);
            }
            failingSince = System.nanoTime();
            failing = true;
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the directory itself may be gone; nothing more to clean
            }
        } finally {
            closeQuietly(ch);
        }
    }

    /**
     * Hands {@code ch} to {@code o} as its body file when the body is large enough and a
     * descriptor is free; true when {@code o} took it (and will close it).
     */
    private boolean keepOpen(CachedResponse o, FileChannel ch, long bodyOffset) {
        if (sendfileMinSize <= 0 || o.length() < sendfileMinSize) {
            return false;
        }
        if (openBodies.incrementAndGet() > maxOpenBodies) {
            openBodies.decrementAndGet();
            return false;
        }
        if (o.attachBodyFile(new CachedResponse.BodyFile(ch, bodyOffset, bodyCloser))) {
            return true;
        }
        openBodies.decrementAndGet();
        return false;
    }

    private void closeBody(FileChannel ch) {
        Runnable close = () -> {
            closeQuietly(ch);
            openBodies.decrementAndGet();
        };
        try {
            io.execute(close);
        } catch (RejectedExecutionException stoppedOrFull) {
            close.run();
        }
    }

    /** Body files open now (for tests and metrics). */
    public int openBodyFiles() {
        return openBodies.get();
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing buffered to lose on a descriptor we only read from or already wrote through
            }
        }
    }

    /** A quarter of the process's descriptor limit (1024 when it cannot be read). */
    private static int descriptorShare() {
        long max = 4096;
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            max = unix.getMaxFileDescriptorCount();
        }
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, max / 4));
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /**
     * Reads the object stored under {@code key} on the disk thread; {@code done} runs on
     * {@code loop} with the entry that was read and the object (one reference for the caller), or
     * null when it is gone or unreadable. The entry may no longer be the {@linkplain #entry current}
     * one by then (purged or rewritten meanwhile): the caller checks before trusting it.
     */
    void load(String key, EventExecutor loop, BiConsumer<Entry, CachedResponse> done) {
        Entry e = index.get(key);
        if (e == null) {
            loop.execute(() -> done.accept(null, null));
            return;
        }
        e.lastAccess = System.currentTimeMillis();
        try {
            io.execute(() -> {
                CachedResponse o = null;
                try {
                    o = readObject(e);
                    loads.increment();
                } catch (IOException | RuntimeException failed) {
                    loadFailures.increment();
                    LOG.log(System.Logger.Level.WARNING, "cache disk tier: dropping unreadable " + e.file + ": " + failed);
                    // Only this file: a newer one written under the key since is not the unreadable one.
                    if (index.get(key) == e) {
                        remove(key);
                        released.released(e.key, e.baseKey, e.url, e.tags);
                    }
                }
                CachedResponse result = o;
                try {
                    loop.execute(() -> done.accept(e, result));
                } catch (RejectedExecutionException shuttingDown) {
                    if (result != null) {
                        result.release();
                    }
                }
            });
        } catch (RejectedExecutionException busy) {
            loop.execute(() -> done.accept(e, null));
        }
    }

    private CachedResponse readObject(Entry e) throws IOException {
        FileChannel ch = FileChannel.open(e.file, StandardOpenOption.READ);
        try {
            ByteBuffer prefix = ByteBuffer.allocate(8);
            readFully(ch, prefix, 0);
            prefix.flip();
            if (prefix.getInt() != MAGIC) {
                throw new IOException("not a cache file");
            }
            int headLength = prefix.getInt();
            ByteBuffer head = ByteBuffer.allocate(headLength);
            readFully(ch, head, 8);
            ByteBuffer len = ByteBuffer.allocate(8);
            readFully(ch, len, 8 + headLength);
            long length = len.flip().getLong();
            Decoded d = decodeHead(head.array());
            long bodyOffset = 16L + headLength;
            long pos = bodyOffset;
            List<ByteBuf> chunks = new ArrayList<>();
            try {
                long left = length;
                while (left > 0) {
                    int n = (int) Math.min(READ_CHUNK, left);
                    ByteBuf b = alloc.directBuffer(n, n);
                    chunks.add(b);
                    while (b.writableBytes() > 0) {
                        int r = b.writeBytes(ch, pos + b.writerIndex(), b.writableBytes());
                        if (r < 0) {
                            throw new IOException("truncated cache file");
                        }
                    }
                    pos += n;
                    left -= n;
                }
            } catch (IOException | RuntimeException failed) {
                for (ByteBuf b : chunks) {
                    b.release();
                }
                throw failed;
            }
            CachedResponse o = CachedResponse.loaded(d.key, d.baseKey, d.url, d.tags, d.status, d.varyNames,
                    d.selecting, d.meta, alloc, Math.max(length, 1), chunks, length);
            if (keepOpen(o, ch, bodyOffset)) {
                ch = null;
            }
            return o;
        } finally {
            closeQuietly(ch);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        long pos = position;
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) {
                throw new IOException("truncated cache file");
            }
            pos += r;
        }
    }

    /**
     * Drops the file of {@code key}; true when there was one (or one on its way). Lookups stop
     * seeing it at once; the file goes on the disk thread, after any write of it already under way,
     * so a purge cannot be undone by a write that was finishing.
     */
    boolean remove(String key) {
        boolean wasPending = pending.remove(key) != null;
        Entry e = index.remove(key);
        if (e != null) {
            used.addAndGet(-e.size);
        }
        Path file = e != null ? e.file : fileOf(key);
        Runnable delete = () -> {
            Entry late = index.remove(key);
            if (late != null) {
                used.addAndGet(-late.size);
            }
            deleteQuietly(file);
        };
        try {
            io.execute(delete);
        } catch (RejectedExecutionException busy) {
            delete.run();
        }
        return e != null || wasPending;
    }

    /** Drops every file. */
    int removeAll() {
        int n = 0;
        for (String k : List.copyOf(index.keySet())) {
            if (remove(k)) {
                n++;
            }
        }
        return n;
    }

    /**
     * Over the budget, drops the least recently used files down to {@link #lowWater} (95 % of the
     * budget), as nginx's cache manager works down to its {@code max_size}: one copy and sort of
     * the whole index makes room for many writes, where evicting to just under the budget would
     * sort it again on nearly every write of a full tier.
     */
    private void evictOverBudget() {
        if (used.get() <= budget) {
            return;
        }
        List<Entry> all = new ArrayList<>(index.values());
        all.sort(Comparator.comparingLong(x -> x.lastAccess));
        for (Entry e : all) {
            if (used.get() <= lowWater) {
                break;
            }
            if (index.remove(e.key, e)) {
                used.addAndGet(-e.size);
                deleteQuietly(e.file);
                released.released(e.key, e.baseKey, e.url, e.tags);
            }
        }
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // a file that cannot be deleted is unreachable anyway: it is out of the index
        }
    }

    private Path fileOf(String key) {
        try {
            String hex = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(key.getBytes(StandardCharsets.UTF_8)));
            return dir.resolve(hex.substring(0, 2)).resolve(hex + ".obj");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits a little for queued writes, then stops the disk thread. Files stay for the next start. */
    @Override
    public void close() {
        io.shutdown();
        try {
            io.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- file head ------------------------------------------------------------------------------

    private record Decoded(String key, String baseKey, String url, List<String> tags, int status,
                           List<String> varyNames, String selecting, StoredMeta meta) {
    }

    private static byte[] encodeHead(CachedResponse o) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
        DataOutputStream out = new DataOutputStream(bytes);
        str(out, o.key());
        str(out, o.baseKey());
        str(out, o.url());
        list(out, o.tags());
        out.writeInt(o.status());
        list(out, o.varyNames());
        str(out, o.selecting());
        StoredMeta m = o.meta();
        out.writeLong(m.requestTime());
        out.writeLong(m.responseTime());
        out.writeLong(m.correctedInitialAge());
        out.writeLong(m.lifetime());
        out.writeBoolean(m.noCache());
        out.writeBoolean(m.noStaleServing());
        out.writeLong(m.staleWhileRevalidate());
        out.writeLong(m.staleIfError());
        List<Map.Entry<String, String>> headers = m.headers().entries();
        out.writeInt(headers.size());
        for (Map.Entry<String, String> h : headers) {
            str(out, h.getKey());
            str(out, h.getValue());
        }
        out.flush();
        return bytes.toByteArray();
    }

    private static Decoded decodeHead(byte[] head) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(head));
        String key = str(in);
        String baseKey = str(in);
        String url = str(in);
        List<String> tags = list(in);
        int status = in.readInt();
        List<String> vary = list(in);
        String selecting = str(in);
        long requestTime = in.readLong();
        long responseTime = in.readLong();
        long age = in.readLong();
        long lifetime = in.readLong();
        boolean noCache = in.readBoolean();
        boolean noStale = in.readBoolean();
        long swr = in.readLong();
        long sie = in.readLong();
        int n = in.readInt();
        HttpHeaders headers = new DefaultHttpHeaders(false);
        for (int i = 0; i < n; i++) {
            headers.add(str(in), str(in));
        }
        StoredMeta meta = new StoredMeta(headers, requestTime, responseTime, age, lifetime, noCache, noStale, swr, sie);
        return new Decoded(key, baseKey, url, tags, status, vary, selecting, meta);
    }

    private static Entry readHead(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ByteBuffer prefix = ByteBuffer.allocate(8);
            readFully(ch, prefix, 0);
            prefix.flip();
            if (prefix.getInt() != MAGIC) {
                throw new IOException("not a cache file");
            }
            int headLength = prefix.getInt();
            if (headLength < 0 || headLength > (16 << 20)) {
                throw new IOException("bad head length " + headLength);
            }
            ByteBuffer head = ByteBuffer.allocate(headLength);
            readFully(ch, head, 8);
            ByteBuffer len = ByteBuffer.allocate(8);
            readFully(ch, len, 8 + headLength);
            long length = len.flip().getLong();
            long size = ch.size();
            if (size != 16L + headLength + length) {
                throw new IOException("truncated cache file");
            }
            Decoded d = decodeHead(head.array());
            return new Entry(d.key, d.baseKey, d.url, d.tags, d.varyNames, f, size, d.meta.responseTime(),
                    Files.getLastModifiedTime(f).toMillis());
        }
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String str(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > (16 << 20)) {
            throw new IOException("bad string length " + n);
        }
        return new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }

    private static void list(DataOutputStream out, List<String> items) throws IOException {
        out.writeInt(items.size());
        for (String s : items) {
            str(out, s);
        }
    }

    private static List<String> list(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 65536) {
            throw new IOException("bad list length " + n);
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(str(in));
        }
        return List.copyOf(out);
    }
}
