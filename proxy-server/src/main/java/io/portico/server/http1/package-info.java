/**
 * The HTTP/1.1 front end. {@link io.portico.server.http1.Http1ProxyHandler} owns a client
 * connection (keep-alive, pipelining, local answers); {@link io.portico.server.http1.ProxyExchange}
 * carries one request to a backend and its response back, with backpressure both ways:
 *
 * <pre>
 *   client ──read only when upstream writable──▶ ProxyExchange ──▶ upstream (same event loop)
 *   client ◀──────── write, flush on read burst ─ ProxyExchange ◀── upstream read only when client writable
 * </pre>
 *
 * Both channels run with AUTO_READ off; every read is asked for explicitly.
 */
package io.portico.server.http1;
