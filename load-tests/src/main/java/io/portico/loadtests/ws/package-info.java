/**
 * The WebSocket side of {@code bin/bench --suite ws}: an echo origin ({@link io.portico.loadtests.ws.EchoOrigin}),
 * a round-trip load generator that checks every echo ({@link io.portico.loadtests.ws.EchoLoad}) and a holder of
 * idle sockets ({@link io.portico.loadtests.ws.IdleSockets}), all on one Netty event loop so that one core
 * drives 1,000 sockets faster than the proxies under test can relay them. Entry point: {@link io.portico.loadtests.ws.WsBench}.
 */
package io.portico.loadtests.ws;
