/**
 * Load balancing algorithms: which backend of an upstream group gets the next request.
 *
 * <p>A balancer is created per event loop and used only from that loop, so none of these classes take
 * locks or are safe to share between threads. What is immutable and large — the ketama ring's points,
 * the Maglev table — is built once per group ({@link io.portico.server.upstream.balance.LoadBalancers#factory})
 * and shared by the loops' balancers; each keeps only its scratch state, smooth round-robin weights
 * (ramped by slow start) and, for hot keys, its own count-min sketch.
 * {@link io.portico.server.upstream.balance.Member#inFlight()} is the one value read across loops, so
 * members usually back it with a shared atomic counter; bounded loads and least_conn read it.
 */
package io.portico.server.upstream.balance;
