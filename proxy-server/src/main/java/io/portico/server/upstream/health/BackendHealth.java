package io.portico.server.upstream.health;

import io.netty.util.concurrent.EventExecutor;
import io.portico.server.config.OutlierConfig;

import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The health of one backend, shared by every event loop: what its active checks say (written only
 * by its {@link HealthChecker}, on one loop) and whether outlier detection has ejected it (written
 * by whichever loop saw the failure, with atomics). Nothing here is locked.
 *
 * <p>The request path does not read this object: whenever {@link #available()} may have changed,
 * the {@code onChange} callback runs, and the group hands the new state to each event loop's own
 * copy (see {@code GroupLoop}). That keeps the pick a read of a plain array on the loop's thread.
 *
 * <p>Successors: when a newer member set (a DNS change) or a newer config generation (a reload) takes
 * the same address over, this object {@link #follow follows} the new one: its checks stop, its reads
 * ({@link #available()} and the snapshot getters) and passive reports ({@link #onResponse},
 * {@link #onConnectFailure}) go to the successor, and the successor's changes still run this one's
 * {@code onChange}, so connections still on an older config see the live state rather than a frozen
 * one, and feed it. Links are made and cut only on the groups' home event loop, so they need no lock;
 * readers on other loops see them through volatile fields and copy-on-write lists.
 */
public final class BackendHealth {

    private static final System.Logger LOG = System.getLogger("portico");

    /** Names the backend in log lines, e.g. {@code upstream api backend 10.0.0.1:80}. */
    private final String label;
    private final OutlierConfig outlier;
    private final EjectionBudget budget;
    private final EventExecutor timers;
    private final Runnable onChange;
    private final int rise;
    private final int fall;

    // Active checks: written by the checker's loop only, read by anyone.
    private volatile boolean checkUp = true;
    private volatile String checkReason = "";
    private volatile long lastCheckMillis;
    private volatile boolean lastCheckPassed;
    private int passesInARow;
    private int failsInARow;

    // Outlier detection: written from any loop.
    private final AtomicInteger consecutive5xx = new AtomicInteger();
    private final AtomicInteger consecutiveConnectFailures = new AtomicInteger();
    private final AtomicBoolean ejected = new AtomicBoolean();
    private volatile long ejectedUntilNanos;
    private volatile long returnedAtNanos;
    private volatile int ejectionStreak;
    private volatile String ejectReason = "";
    private final AtomicInteger ejections = new AtomicInteger();
    private volatile boolean closed;

    /** The same address in a newer member set or config, which this one now reads through; null while it is live. */
    private volatile BackendHealth successor;
    /** Older objects following this one: told of its changes (their own {@code onChange}) too. */
    private final CopyOnWriteArrayList<BackendHealth> followers = new CopyOnWriteArrayList<>();
    /** Its group is closed: nothing listens to its {@code onChange} any more. */
    private volatile boolean dead;

    /** When it last came back into rotation after being out; 0 when it never was out. */
    private volatile long backSinceNanos;

    /**
     * @param label     names the backend in the log lines of its state changes
     * @param outlier   passive detection settings
     * @param budget    the group's ejection budget
     * @param rise      passed checks in a row that bring it back (1 when checks are off)
     * @param fall      failed checks in a row that take it out
     * @param timers    where ejection ends are scheduled (an event loop)
     * @param onChange  runs after {@link #available()} may have changed, on the thread that changed it
     */
    public BackendHealth(String label, OutlierConfig outlier, EjectionBudget budget, int rise, int fall,
                         EventExecutor timers, Runnable onChange) {
        this.label = label;
        this.outlier = outlier;
        this.budget = budget;
        this.rise = rise;
        this.fall = fall;
        this.timers = timers;
        this.onChange = onChange;
    }

    /** In rotation as far as health goes: its checks pass (or are off) and it is not ejected. */
    public boolean available() {
        BackendHealth s = successor;
        return s != null ? s.available() : checkUp && !ejected.get();
    }

    /** {@link System#nanoTime()} at which it last came back into rotation, or 0 if it never left. */
    public long backSinceNanos() {
        BackendHealth s = successor;
        return s != null ? s.backSinceNanos() : backSinceNanos;
    }

    /** Runs {@code onChange} here and in every object following this one. */
    private void changed() {
        if (!dead) {
            onChange.run();
        }
        for (BackendHealth f : followers) {
            f.changed();
        }
    }

    // ---- active checks --------------------------------------------------------------------------

    /** A check passed; called on the checker's loop. */
    void checkPassed(long nowMillis) {
        lastCheckMillis = nowMillis;
        lastCheckPassed = true;
        failsInARow = 0;
        if (checkUp) {
            return;
        }
        if (++passesInARow >= rise) {
            passesInARow = 0;
            checkReason = "";
            if (!ejected.get()) {
                backSinceNanos = System.nanoTime();
            }
            checkUp = true;
            // State changes are rare (at most one per check), so a log line on the loop costs nothing.
            LOG.log(System.Logger.Level.INFO, label + " is up: " + rise + " passed health checks");
            changed();
        }
    }

    /** A check failed for {@code reason}; called on the checker's loop. */
    void checkFailed(long nowMillis, String reason) {
        lastCheckMillis = nowMillis;
        lastCheckPassed = false;
        checkReason = reason;
        passesInARow = 0;
        if (!checkUp) {
            return;
        }
        if (++failsInARow >= fall) {
            failsInARow = 0;
            checkUp = false;
            LOG.log(System.Logger.Level.WARNING, label + " is down: " + fall + " failed health checks, last: " + reason);
            changed();
        }
    }

    // ---- passive: outlier detection -----------------------------------------------------------

    /** A response head came back with {@code status}. */
    public void onResponse(int status) {
        BackendHealth s = successor;
        if (s != null) {
            s.onResponse(status);
            return;
        }
        if (consecutiveConnectFailures.get() != 0) {
            consecutiveConnectFailures.set(0);
        }
        if (status >= 500 && status <= 599) {
            int limit = outlier.consecutive5xx();
            if (limit > 0 && consecutive5xx.incrementAndGet() >= limit) {
                tryEject(System.nanoTime(), limit + " consecutive 5xx responses");
            }
        } else if (consecutive5xx.get() != 0) {
            // Only write when there is something to reset: a shared cache line stays clean on success.
            consecutive5xx.set(0);
        }
    }

    /** A connection to it could not be opened (refused, unreachable, timed out, TLS handshake failed). */
    public void onConnectFailure(long nowNanos, String what) {
        BackendHealth s = successor;
        if (s != null) {
            s.onConnectFailure(nowNanos, what);
            return;
        }
        int limit = outlier.consecutiveConnectFailures();
        if (limit > 0 && consecutiveConnectFailures.incrementAndGet() >= limit) {
            tryEject(nowNanos, limit + " consecutive connect failures (" + what + ")");
        }
    }

    /** A connection to it opened (a tcp relay's, where no response head follows): ends a run of connect failures. */
    public void onConnected() {
        BackendHealth s = successor;
        if (s != null) {
            s.onConnected();
            return;
        }
        if (consecutiveConnectFailures.get() != 0) {
            consecutiveConnectFailures.set(0);
        }
    }

    private void tryEject(long nowNanos, String reason) {
        if (closed || !ejected.compareAndSet(false, true)) {
            return;
        }
        if (!budget.tryAcquire()) {
            // Too many out already: it stays in, and the next failure in the run tries again.
            ejected.set(false);
            return;
        }
        long base = outlier.baseEjectionTime().toNanos();
        int streak = ejectionStreak;
        long returned = returnedAtNanos;
        if (returned != 0 && streak > 0) {
            // Each base_ejection_time spent in rotation without an ejection forgives one earlier ejection
            // (Envoy lowers its multiplier once per interval the same way).
            long forgiven = (nowNanos - returned) / base;
            streak = (int) Math.max(0, streak - forgiven);
        }
        long max = outlier.maxEjectionTime().toNanos();
        long length = streak >= 62 || base > (max >> Math.min(streak, 62)) ? max : Math.min(max, base << streak);
        ejectionStreak = Math.min(streak + 1, 62);
        ejectedUntilNanos = nowNanos + length;
        ejectReason = reason;
        consecutive5xx.set(0);
        consecutiveConnectFailures.set(0);
        ejections.incrementAndGet();
        LOG.log(System.Logger.Level.WARNING, label + " ejected for " + length / 1_000_000 + "ms: " + reason);
        if (!timers.isShuttingDown()) {
            timers.schedule(this::endEjection, length, TimeUnit.NANOSECONDS);
        }
        changed();
    }

    private void endEjection() {
        long now = System.nanoTime();
        returnedAtNanos = now;
        if (checkUp) {
            backSinceNanos = now;
        }
        ejected.set(false);
        budget.release();
        LOG.log(System.Logger.Level.INFO, label + " is back from ejection");
        changed();
    }

    /**
     * Takes over the state of the same backend (same address) in the member set this one replaces
     * (a DNS change) or in the same group of the config a reload replaces, so that the change does not
     * put a member that checks took out back into rotation, nor cut its ejection short. Call it before
     * any event loop or checker sees this object, then {@link #resume()} once the group can take news
     * of it.
     *
     * @param checks whether this object's group runs active checks; when it does not, a member the
     *               old checks had down is not kept down (nothing would ever bring it back)
     */
    public void inherit(BackendHealth from, boolean checks) {
        if (checks) {
            copyChecks(from);
        }
        backSinceNanos = from.backSinceNanos;
        consecutive5xx.set(from.consecutive5xx.get());
        consecutiveConnectFailures.set(from.consecutiveConnectFailures.get());
        returnedAtNanos = from.returnedAtNanos;
        ejectionStreak = from.ejectionStreak;
        ejections.set(from.ejections.get());
        // An ejection runs on to its end; a group whose detection is now off keeps none.
        if (outlier.enabled() && from.ejected.get() && from.ejectedUntilNanos - System.nanoTime() > 0
                && budget.tryAcquire()) {
            ejected.set(true);
            ejectedUntilNanos = from.ejectedUntilNanos;
            ejectReason = from.ejectReason;
        }
    }

    private void copyChecks(BackendHealth from) {
        checkUp = from.checkUp;
        checkReason = from.checkReason;
        lastCheckMillis = from.lastCheckMillis;
        lastCheckPassed = from.lastCheckPassed;
        // Written on the old checker's loop; a check ending just now may be missed, which only
        // costs one more check (see takeChecks for the exact hand-over).
        passesInARow = from.passesInARow;
        failsInARow = from.failsInARow;
    }

    /**
     * Brings the active-check state up to {@code from}'s, whose checker this thread has just stopped
     * (so its last result is in), before this object's own checker starts: the checks
     * {@link #inherit} saw when the config was built may have moved on since. Call it on the old
     * checker's loop, and start the new checker from there afterwards.
     */
    public void takeChecks(BackendHealth from) {
        boolean wasUp = checkUp;
        copyChecks(from);
        if (checkUp && !wasUp && !ejected.get()) {
            backSinceNanos = from.backSinceNanos;
        }
        if (checkUp != wasUp) {
            changed();
        }
    }

    /** Schedules the end of an ejection taken over by {@link #inherit}. */
    public void resume() {
        if (ejected.get() && !timers.isShuttingDown()) {
            timers.schedule(this::endEjection, Math.max(0, ejectedUntilNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * From now on reads and passive reports go to {@code next}, the same address in the config that
     * replaced this one's, and {@code next}'s changes run this one's {@code onChange} too (so the
     * older config's loops keep a live view); runs it once now. On the groups' home loop only.
     */
    public void follow(BackendHealth next) {
        successor = next;
        next.followers.add(this);
        changed();
    }

    /**
     * A DNS change replaced this member set: reads and reports of exchanges still running on it go to
     * {@code next}, and the objects following this one follow {@code next} instead. On the group's
     * home loop only.
     */
    public void replaceWith(BackendHealth next) {
        successor = next;
        moveFollowers(next);
    }

    /**
     * Its group closed: no more news to its {@code onChange}; whatever follows it follows its
     * successor directly. On the groups' home loop only.
     */
    public void detach() {
        dead = true;
        BackendHealth s = successor;
        if (s != null) {
            moveFollowers(s);
            s.followers.remove(this);
        }
    }

    private void moveFollowers(BackendHealth to) {
        for (BackendHealth f : followers) {
            // Added there before it leaves here: a change meanwhile reaches it once or twice, never not.
            to.followers.add(f);
            f.successor = to;
        }
        followers.clear();
    }

    /** Stops scheduling; pending ejection ends still run but change nothing that matters. */
    void close() {
        closed = true;
    }

    // ---- snapshot -------------------------------------------------------------------------------

    /** Whether active checks have it out. */
    public boolean checkedDown() {
        BackendHealth s = successor;
        return s != null ? s.checkedDown() : !checkUp;
    }

    /** Whether outlier detection has it out. */
    public boolean ejected() {
        BackendHealth s = successor;
        return s != null ? s.ejected() : ejected.get();
    }

    public String checkReason() {
        return checkReason;
    }

    public String ejectReason() {
        return ejectReason;
    }

    /** Epoch millis of the last check's end, 0 for none. */
    public long lastCheckMillis() {
        return lastCheckMillis;
    }

    public boolean lastCheckPassed() {
        return lastCheckPassed;
    }

    public long ejectedUntilNanos() {
        return ejectedUntilNanos;
    }

    public int ejections() {
        return ejections.get();
    }
}
