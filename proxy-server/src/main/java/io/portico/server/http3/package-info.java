/**
 * HTTP/3 towards clients, over QUIC on the UDP side of a TLS listener. {@link
 * io.portico.server.http3.Http3Listener} binds the sockets and sets up Netty's QUIC codec (TLS from
 * {@link io.portico.server.http3.QuicServerTls}, built from the listener's own certificates) and
 * HTTP/3 connection handler; every request stream becomes a channel on its connection's event loop
 * where {@link io.portico.server.http3.Http3StreamBridge} turns frames into the HTTP/1-shaped
 * messages of the {@code http1} exchange machinery, so a stream is routed, limited, cached, proxied
 * and logged exactly like an HTTP/1.1 or HTTP/2 request. {@link
 * io.portico.server.http3.Http3ConnectionGuard} owns a connection: counters, graceful GOAWAY.
 *
 * <pre>
 * flow control, request direction:  client STREAM data stays in quiche (its window closed) until
 *   the exchange reads, which it does only while the upstream channel is writable
 * response direction:  upstream read() only while the stream channel is writable; the stream is
 *   writable while the client's stream and connection windows can take more
 * </pre>
 */
package io.portico.server.http3;
