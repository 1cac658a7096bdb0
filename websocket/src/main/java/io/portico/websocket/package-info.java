/**
 * WebSocket proxying as a library: upgrade validation (RFC 6455, RFC 8441) and frame relay with
 * limits. Knows nothing of listeners or config files; {@code proxy-server} wires it.
 * Filled in by the WebSocket work (see the README's Status section).
 */
package io.portico.websocket;
