package io.portico.http.cache;

import io.netty.util.concurrent.EventExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One origin fetch in flight for a cache key, which other requests for the key wait on instead of
 * going to the origin themselves (request collapsing). The fetch's owner settles it once the
 * response head has been judged: {@link #publish} with the object being filled (waiters read it
 * while it fills), or {@link #pass} (not storable or failed: waiters go to the origin on their own).
 */
public final class Pending {

    private static final int WAITING = 0;
    private static final int PUBLISHED = 1;
    private static final int PASSED = 2;

    private final HttpCache cache;
    private final String baseKey;
    private final List<Runnable> wakeups = new ArrayList<>(4);
    private final List<EventExecutor> executors = new ArrayList<>(4);
    private int state = WAITING;
    private CachedResponse object;
    /** Waiters woken (or to be woken) that have not called {@link #joined} yet; each holds a claim on the object. */
    private int unclaimed;
    private boolean finished;
    private boolean released;

    Pending(HttpCache cache, String baseKey) {
        this.cache = cache;
        this.baseKey = baseKey;
    }

    public String baseKey() {
        return baseKey;
    }

    /**
     * Waits for this fetch to settle: {@code task} runs on {@code executor} once it has, and must
     * then call {@link #joined} with {@code registered} true, exactly once.
     *
     * @return false when it has settled already (call {@link #joined} now, not registered)
     */
    public synchronized boolean await(EventExecutor executor, Runnable task) {
        if (state != WAITING) {
            return false;
        }
        wakeups.add(task);
        executors.add(executor);
        unclaimed++;
        return true;
    }

    /**
     * After settling: the object a request with these selecting values should read, retained for
     * it, or null when it must go to the origin itself.
     *
     * @param registered whether the caller is a waiter that {@link #await} registered
     */
    public CachedResponse joined(Function<List<String>, String> selectingValues, boolean registered) {
        CachedResponse o;
        synchronized (this) {
            if (registered) {
                unclaimed--;
            }
            o = state == PUBLISHED && !released && !object.failed()
                    && object.matches(selectingValues.apply(object.varyNames())) ? object.retain() : null;
        }
        releaseIfUnclaimed();
        return o;
    }

    /** The head was storable: waiters read {@code filling} while it fills; so do requests arriving later. */
    public void publish(CachedResponse filling) {
        synchronized (this) {
            object = filling.retain();
            state = PUBLISHED;
        }
        wake();
    }

    /** Waiters go to the origin on their own; the key stops collapsing for a while when {@code uncacheable}. */
    public void pass(boolean uncacheable) {
        synchronized (this) {
            state = PASSED;
            finished = true;
        }
        cache.settled(this, uncacheable);
        wake();
    }

    /**
     * The published object was stored or abandoned: later requests no longer find it here. Waiters
     * already woken still get it; the pending's reference goes once they all have claimed it.
     */
    public void finished() {
        synchronized (this) {
            finished = true;
        }
        cache.settled(this, false);
        releaseIfUnclaimed();
    }

    private void releaseIfUnclaimed() {
        CachedResponse o = null;
        synchronized (this) {
            if (finished && unclaimed == 0 && !released && object != null) {
                released = true;
                o = object;
            }
        }
        if (o != null) {
            o.release();
        }
    }

    private void wake() {
        Runnable[] tasks;
        EventExecutor[] execs;
        synchronized (this) {
            tasks = wakeups.toArray(new Runnable[0]);
            execs = executors.toArray(new EventExecutor[0]);
            wakeups.clear();
            executors.clear();
        }
        for (int i = 0; i < tasks.length; i++) {
            execs[i].execute(tasks[i]);
        }
    }
}
