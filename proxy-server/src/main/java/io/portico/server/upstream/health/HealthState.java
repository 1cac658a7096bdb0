package io.portico.server.upstream.health;

/** Where a backend stands, as shown by {@link BackendStatus}. */
public enum HealthState {
    /** In rotation at its full weight. */
    UP,
    /** Back in rotation after being out, its weight still ramping up ({@code slow_start}). */
    SLOW_START,
    /** Out: its active health checks failed {@code fall} times in a row. */
    DOWN,
    /** Out: outlier detection ejected it after failures in a row, until its backoff runs out. */
    EJECTED,
    /** Out: nginx-style {@code max_fails} failures within {@code fail_timeout}, until that runs out. */
    FAILED
}
