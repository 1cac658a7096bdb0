/**
 * The RFC 9111 shared cache as a library: {@link io.portico.http.cache.CacheControl} parsing,
 * {@link io.portico.http.cache.CachePolicy} (what may be stored, for how long, and whether a
 * stored response may answer a request), {@link io.portico.http.cache.Conditionals} (304 from a
 * stored response), {@link io.portico.http.cache.CacheKeyTemplate}, and the store itself
 * ({@link io.portico.http.cache.HttpCache}: a Caffeine memory tier weighted by bytes, bodies in
 * off-heap buffers, objects readable while they are still being filled, purge by URL, prefix and
 * tag, counters). Nothing here knows sockets, HTTP/1 connections or config files.
 */
package io.portico.http.cache;
