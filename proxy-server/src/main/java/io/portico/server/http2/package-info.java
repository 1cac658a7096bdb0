/**
 * HTTP/2 towards clients. A connection gets Netty's {@code Http2FrameCodec} (built by
 * {@link io.portico.server.http2.Http2Codecs} with Portico's settings and abuse limits) and an
 * {@code Http2MultiplexHandler}; every stream becomes a child channel on the connection's event loop
 * where {@link io.portico.server.http2.Http2StreamBridge} turns frames into the HTTP/1-shaped
 * messages the exchange machinery of {@code http1} already handles, so a stream is routed, limited,
 * proxied and logged exactly like an HTTP/1.1 request. {@link io.portico.server.http2.Http2ConnectionGuard}
 * owns the connection: counters, idle close, graceful GOAWAY on drain. Under the codec a
 * {@link io.portico.server.http2.SmallWriteCoalescer} gathers the small buffers it writes per flush.
 *
 * <p>A stream's channel ends without the exchange closing it: once the client's END_STREAM is in,
 * the bridge keeps a read pending, so Netty closes the channel as soon as the response's
 * END_STREAM is out; a stream the client had not ended is reset (NO_ERROR) after the response and
 * closed by the bridge. Frames of unknown types are dropped before they reach any stream
 * ({@link io.portico.server.http2.UnknownFrames}, also on connections to HTTP/2 backends).
 *
 * <pre>
 * flow control, request direction:  client DATA → child inbound queue (window not yet returned)
 *   → read() only while the upstream channel is writable → WINDOW_UPDATE as the child reads
 * response direction:  upstream read() only while the child channel is writable; the child is
 *   writable while the stream's send window (and the connection) can take more
 * </pre>
 */
package io.portico.server.http2;
