/**
 * Upstream groups, their backends, and connection pools kept per backend per event loop: the
 * upstream connection of a request lives on the client's event loop, so the hot path takes no
 * lock. HTTP/1.1 groups use keep-alive pools ({@code ConnectionPool}, one request per connection
 * at a time); {@code h2}/{@code h2c} groups use multiplexed HTTP/2 pools ({@code Http2ConnectionPool},
 * many streams per connection). An exchange sees either through {@link
 * io.portico.server.upstream.UpstreamStream}. Balancing algorithms are in {@code upstream.balance}.
 */
package io.portico.server.upstream;
