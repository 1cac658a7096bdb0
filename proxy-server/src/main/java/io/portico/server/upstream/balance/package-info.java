/**
 * Load balancing algorithms: which backend of an upstream group gets the next request.
 *
 * <p>A balancer is created per event loop and used only from that loop, so none of these classes take
 * locks or are safe to share between threads (the consistent hash ring is immutable and would be, but
 * it holds the loop's own member objects). {@link io.portico.server.upstream.balance.Member#inFlight()}
 * is the one value read across loops, so members usually back it with a shared atomic counter.
 */
package io.portico.server.upstream.balance;
