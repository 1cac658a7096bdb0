package io.portico.tls;

import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;

import javax.net.ssl.SSLSessionContext;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Session ticket keys for the OpenSSL provider. The first key encrypts new tickets; every key
 * decrypts, so a rotated-out key keeps resuming the tickets it issued until it is dropped.
 *
 * <p>Two sources: {@link #random} keys made in memory and rotated every period by a daemon thread
 * (or by the caller through {@link #rotate()} when the period is null), which survive a reload when
 * the same instance is passed to the new {@link ServerTls}; and {@link #fromFile} keys shared by
 * several instances, in nginx's {@code ssl_session_ticket_key} format, which let any of them resume
 * the others' sessions. File keys do not rotate: replace the file and reload.
 *
 * <p>The JDK provider cannot take ticket keys. SunJSSE makes and rotates its own per SSLContext,
 * so its tickets resume only on the context that issued them: not across instances and not across
 * a reload. {@link ServerTls} warns when keys are given with the JDK provider.
 *
 * <p>tcnative encrypts tickets with AES-128-CBC and HMAC-SHA256, 16-byte keys each. A 48-byte
 * nginx key is used as it is (name, AES, HMAC); from an 80-byte key (name, 32-byte HMAC, 32-byte
 * AES) the first 16 bytes of each part are used, so Portico instances sharing the file agree with
 * each other (not with nginx, whose ticket contents differ anyway).
 */
public final class TicketKeys implements AutoCloseable {

    private static final int NAME = OpenSslSessionTicketKey.NAME_SIZE;
    private static final int PART = 16;
    private static final int SHORT_KEY = 48;
    private static final int LONG_KEY = 80;
    /** The current key and the one before it. */
    private static final int RANDOM_KEYS_KEPT = 2;

    private static final SecureRandom RANDOM = new SecureRandom();

    private final String description;
    private final boolean rotatable;
    private final List<WeakReference<SslContext>> contexts = new CopyOnWriteArrayList<>();
    private volatile OpenSslSessionTicketKey[] keys;
    private volatile ScheduledFuture<?> rotation;

    private TicketKeys(String description, boolean rotatable, OpenSslSessionTicketKey[] keys) {
        this.description = description;
        this.rotatable = rotatable;
        this.keys = keys;
    }

    /**
     * A random key, replaced every {@code rotation} by a daemon thread. A ticket resumes for between
     * one and two periods (and no longer than the session timeout), so choose a period at least as
     * long as the session timeout. A null or zero period leaves rotation to the caller ({@link #rotate()}).
     */
    public static TicketKeys random(Duration rotation) {
        TicketKeys keys = new TicketKeys("random keys" + (rotation == null || rotation.isZero() ? ""
                : " rotated every " + rotation), true, new OpenSslSessionTicketKey[] {randomKey()});
        if (rotation != null && !rotation.isZero() && !rotation.isNegative()) {
            long millis = rotation.toMillis();
            keys.rotation = Scheduler.EXECUTOR.scheduleAtFixedRate(keys::rotate, millis, millis, TimeUnit.MILLISECONDS);
        }
        return keys;
    }

    /**
     * Keys from one file: 48-byte or 80-byte keys, one after the other, newest first. A file whose
     * length is a multiple of both (240 bytes and its multiples) is read as 80-byte keys.
     */
    public static TicketKeys fromFile(Path file) throws TlsConfigException {
        return new TicketKeys("keys from " + file, false, read(file).toArray(new OpenSslSessionTicketKey[0]));
    }

    /** Keys from several files of one key each, as nginx takes them; the first file's key encrypts. */
    public static TicketKeys fromFiles(List<Path> files) throws TlsConfigException {
        if (files.isEmpty()) {
            throw new TlsConfigException("no session ticket key file given");
        }
        List<OpenSslSessionTicketKey> all = new ArrayList<>();
        for (Path file : files) {
            all.addAll(read(file));
        }
        return new TicketKeys("keys from " + files, false, all.toArray(new OpenSslSessionTicketKey[0]));
    }

    /** Puts a new random key first and drops the oldest beyond the previous one; applied to every live context at once. */
    public void rotate() {
        if (!rotatable) {
            throw new IllegalStateException("ticket keys from files do not rotate; replace the file and reload");
        }
        synchronized (this) {
            OpenSslSessionTicketKey[] current = keys;
            OpenSslSessionTicketKey[] next = new OpenSslSessionTicketKey[Math.min(current.length + 1, RANDOM_KEYS_KEPT)];
            next[0] = randomKey();
            System.arraycopy(current, 0, next, 1, next.length - 1);
            keys = next;
            for (WeakReference<SslContext> reference : contexts) {
                SslContext context = reference.get();
                if (context == null) {
                    contexts.remove(reference);
                } else {
                    set(context, next);
                }
            }
        }
    }

    /** How many keys are in use (the first encrypts). */
    public int size() {
        return keys.length;
    }

    /** Whether a daemon thread rotates these keys. */
    public boolean rotatesItself() {
        return rotation != null;
    }

    /** Stops the scheduled rotation; contexts keep the keys they have. */
    @Override
    public void close() {
        ScheduledFuture<?> task = rotation;
        if (task != null) {
            task.cancel(false);
        }
    }

    @Override
    public String toString() {
        return "TicketKeys[" + description + "]";
    }

    /** Gives the keys to an OpenSSL server context and keeps it (weakly) for later rotations; false for other providers. */
    boolean applyTo(SslContext context) {
        if (!(context.sessionContext() instanceof OpenSslSessionContext)) {
            return false;
        }
        synchronized (this) {
            set(context, keys);
            if (rotatable) {
                contexts.add(new WeakReference<>(context));
            }
        }
        return true;
    }

    private static void set(SslContext context, OpenSslSessionTicketKey[] keys) {
        SSLSessionContext sessions = context.sessionContext();
        ((OpenSslSessionContext) sessions).setTicketKeys(keys);
    }

    private static OpenSslSessionTicketKey randomKey() {
        byte[] name = new byte[NAME];
        byte[] hmac = new byte[PART];
        byte[] aes = new byte[PART];
        RANDOM.nextBytes(name);
        RANDOM.nextBytes(hmac);
        RANDOM.nextBytes(aes);
        return new OpenSslSessionTicketKey(name, hmac, aes);
    }

    private static List<OpenSslSessionTicketKey> read(Path file) throws TlsConfigException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw Pem.unreadable(file, e);
        }
        int size;
        if (bytes.length > 0 && bytes.length % LONG_KEY == 0) {
            size = LONG_KEY;
        } else if (bytes.length > 0 && bytes.length % SHORT_KEY == 0) {
            size = SHORT_KEY;
        } else {
            throw new TlsConfigException("session ticket key file " + file + " holds " + bytes.length
                    + " bytes; expected 48-byte or 80-byte keys (e.g. openssl rand 80 > " + file.getFileName() + ")");
        }
        List<OpenSslSessionTicketKey> keys = new ArrayList<>();
        for (int offset = 0; offset < bytes.length; offset += size) {
            byte[] name = Arrays.copyOfRange(bytes, offset, offset + NAME);
            byte[] hmac;
            byte[] aes;
            if (size == SHORT_KEY) {
                aes = Arrays.copyOfRange(bytes, offset + NAME, offset + NAME + PART);
                hmac = Arrays.copyOfRange(bytes, offset + NAME + PART, offset + NAME + 2 * PART);
            } else {
                hmac = Arrays.copyOfRange(bytes, offset + NAME, offset + NAME + PART);
                aes = Arrays.copyOfRange(bytes, offset + NAME + 32, offset + NAME + 32 + PART);
            }
            keys.add(new OpenSslSessionTicketKey(name, hmac, aes));
        }
        return keys;
    }

    /** One daemon thread for every rotating key set in the process. */
    private static final class Scheduler {
        static final ScheduledThreadPoolExecutor EXECUTOR = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "portico-tls-ticket-keys");
            thread.setDaemon(true);
            return thread;
        });

        static {
            EXECUTOR.setRemoveOnCancelPolicy(true);
        }
    }
}
