package io.portico.tls;

import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.internal.tcnative.KeyLogCallback;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An NSS key log (the SSLKEYLOGFILE format Wireshark reads), appended to by a daemon thread so that
 * handshakes on event loops never wait for the disk. One per path in the process: a reloaded
 * listener keeps appending to the same open file. The file is only for its owner: a new one is made
 * {@code rw-------}, and an existing one that others could read loses their permissions (or, when
 * that cannot be done, is refused), since whoever reads it can decrypt the captured traffic.
 *
 * <p>OpenSSL: BoringSSL's key log callback hands over complete NSS lines ({@code CLIENT_RANDOM} for
 * TLS 1.2, the {@code *_TRAFFIC_SECRET_0} and {@code *_HANDSHAKE_TRAFFIC_SECRET} lines for TLS 1.3).
 * JDK: see {@link JdkKeyLogHandler}; TLS 1.2 only.
 */
final class KeyLogFile {

    private static final Map<Path, KeyLogFile> OPEN = new ConcurrentHashMap<>();

    /**
     * Lines waiting to be written, at most: a file that stalls (a full or hung disk) must not let
     * the handshakes' secrets pile up in memory; past it lines are dropped and counted.
     */
    static final int MAX_QUEUED_LINES = 65_536;
    private static final AtomicLong DROPPED = new AtomicLong();

    private static final ExecutorService WRITER = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(MAX_QUEUED_LINES), runnable -> {
                Thread thread = new Thread(runnable, "portico-tls-keylog");
                thread.setDaemon(true);
                return thread;
            });

    private final Path path;
    private final FileChannel channel;

    private KeyLogFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** The open key log for the file, opened now if it is not yet; {@code warnings} hears of tightened permissions. */
    static KeyLogFile open(Path file, List<String> warnings) throws TlsConfigException {
        Path path = file.toAbsolutePath().normalize();
        KeyLogFile existing = OPEN.get(path);
        if (existing != null) {
            return existing;
        }
        synchronized (OPEN) {
            existing = OPEN.get(path);
            if (existing != null) {
                return existing;
            }
            try {
                FileAttribute<?>[] attributes = FileSystems.getDefault().supportedFileAttributeViews().contains("posix")
                        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))}
                        : new FileAttribute<?>[0];
                FileChannel channel = FileChannel.open(path, Set.of(StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE, StandardOpenOption.APPEND), attributes);
                String was;
                try {
                    was = ownerOnly(path);
                } catch (IOException e) {
                    channel.close();
                    throw new TlsConfigException("the TLS key log file " + path + " can be read by other users and"
                            + " its permissions cannot be made owner-only (" + e.getMessage() + "); give a file that"
                            + " only Portico's user can read", e);
                }
                if (was != null) {
                    warnings.add("the TLS key log file " + path + " could be read by other users (" + was
                            + "); it is now owner-only");
                }
                KeyLogFile created = new KeyLogFile(path, channel);
                OPEN.put(path, created);
                return created;
            } catch (IOException e) {
                throw new TlsConfigException("cannot open the TLS key log file " + path + ": " + e.getMessage(), e);
            }
        }
    }

    Path path() {
        return path;
    }

    /** Takes group and other permissions off the file; the permissions it had if it had such, else null. */
    private static String ownerOnly(Path path) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        if (view == null) {
            return null; // not a POSIX file system: nothing to compare with
        }
        Set<PosixFilePermission> permissions = view.readAttributes().permissions();
        Set<PosixFilePermission> owner = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : permissions) {
            if (p == PosixFilePermission.OWNER_READ || p == PosixFilePermission.OWNER_WRITE
                    || p == PosixFilePermission.OWNER_EXECUTE) {
                owner.add(p);
            }
        }
        if (owner.size() == permissions.size()) {
            return null;
        }
        view.setPermissions(owner);
        return PosixFilePermissions.toString(permissions);
    }

    /** Queues one line (without its newline) for appending. */
    void append(byte[] line) {
        try {
            WRITER.execute(() -> write(line));
        } catch (RejectedExecutionException full) {
            if (DROPPED.getAndIncrement() % MAX_QUEUED_LINES == 0) {
                System.getLogger("portico").log(System.Logger.Level.WARNING, "TLS key log " + path
                        + ": writes are " + MAX_QUEUED_LINES + " lines behind; dropping lines (" + DROPPED.get()
                        + " so far)");
            }
        }
    }

    /** Has BoringSSL report this context's secrets; false when the native library or Netty does not let it. */
    boolean attach(SslContext context) {
        if (!(context instanceof ReferenceCountedOpenSslContext)) {
            return false;
        }
        long ctx = TcnContext.pointer((ReferenceCountedOpenSslContext) context);
        if (ctx == 0) {
            return false;
        }
        KeyLogCallback callback = (ssl, line) -> append(line);
        return io.netty.internal.tcnative.SSLContext.setKeyLogCallback(ctx, callback);
    }

    /**
     * tcnative's context handle, the protected {@code ctx} field. Netty's public accessors
     * ({@code sslCtxPointer()}, {@code context()}) return the raw {@code SSL_CTX}, which tcnative's
     * {@code SSLContext} calls do not take: passing it crashes the JVM.
     */
    private static final class TcnContext {
        private static final Field CTX = field();

        private static Field field() {
            try {
                Field field = ReferenceCountedOpenSslContext.class.getDeclaredField("ctx");
                field.setAccessible(true);
                return field.getType() == long.class ? field : null;
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }

        static long pointer(ReferenceCountedOpenSslContext context) {
            if (CTX == null) {
                return 0;
            }
            try {
                return CTX.getLong(context);
            } catch (IllegalAccessException e) {
                return 0;
            }
        }
    }

    private void write(byte[] line) {
        ByteBuffer buffer = ByteBuffer.allocate(line.length + 1);
        buffer.put(line).put((byte) '\n').flip();
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        } catch (IOException e) {
            // A debugging aid that cannot write is not worth failing connections for; the file shows the gap.
        }
    }
}
