/**
 * WebSocket proxying as a library: checks of the RFC 6455 opening handshake and of the upstream's
 * 101 ({@link io.portico.websocket.WebSocketHandshake}), and a relay between an upgraded client
 * connection and its upstream, as raw bytes or as checked frames with limits and heartbeats
 * ({@link io.portico.websocket.WebSocketRelay}, {@link io.portico.websocket.RelayLimits}). Knows
 * nothing of listeners or config files; {@code proxy-server} wires it.
 */
package io.portico.websocket;
