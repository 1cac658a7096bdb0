/**
 * Health of upstream backends: active checks, passive outlier detection, and the read-only status
 * snapshot the admin listener and metrics show.
 *
 * <p><b>Who writes what.</b> Each backend has one {@link io.portico.server.upstream.health.BackendHealth},
 * shared by every event loop. Its active-check state is written only by the backend's single
 * {@link io.portico.server.upstream.health.HealthChecker}, which runs on one event loop (chosen round
 * robin per backend, not one checker per loop) and never blocks it: connect, request, read and timeout
 * are all callbacks and scheduled tasks on that loop. Outlier detection is written from whichever loop
 * saw a 5xx or a failed connect, with atomics: a counter per kind of failure, a compare-and-set to
 * eject, and the group's {@link io.portico.server.upstream.health.EjectionBudget} so that at most
 * {@code max_ejection_percent} of the members are ejected at once. An ejection ends by a task scheduled
 * on the backend's checker loop.
 *
 * <p><b>How the request path sees it.</b> Not by reading these objects: when a backend's availability may
 * have changed, the group queues a task on every event loop that copies it into that loop's
 * {@code GroupLoop} (a plain {@code boolean[]}), and starts the slow-start ramp there when the backend
 * came back. The pick on the request path is then an array read on the loop's own thread: no lock, no
 * volatile, no allocation. The loops converge within one task turn of a change.
 *
 * <p><b>What the admin side reads.</b> {@code UpstreamGroup.status()} returns a
 * {@link io.portico.server.upstream.health.GroupStatus} of immutable
 * {@link io.portico.server.upstream.health.BackendStatus} records (state, reason, last check, in-flight,
 * open connections, weight and effective weight, ejections). It is safe from any thread and costs a
 * few volatile reads per member.
 */
package io.portico.server.upstream.health;
