/**
 * Upstream groups, their backends, and keep-alive connection pools kept per backend per event loop:
 * the upstream connection of a request lives on the client's event loop, so the hot path takes no
 * lock. Balancing algorithms are in {@code upstream.balance}.
 */
package io.portico.server.upstream;
