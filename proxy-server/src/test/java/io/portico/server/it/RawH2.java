package io.portico.server.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A byte-level HTTP/2 client over cleartext (prior knowledge) for the cases a well-behaved client
 * library will not produce: floods, malformed requests, resets. Frames are written by hand; HEADERS
 * blocks are HPACK-encoded with Netty's encoder, and received ones decoded with its decoder.
 */
final class RawH2 implements AutoCloseable {

    static final int DATA = 0x0;
    static final int HEADERS = 0x1;
    static final int PRIORITY = 0x2;
    static final int RST_STREAM = 0x3;
    static final int SETTINGS = 0x4;
    static final int PING = 0x6;
    static final int GOAWAY = 0x7;
    static final int WINDOW_UPDATE = 0x8;
    static final int CONTINUATION = 0x9;

    static final int END_STREAM = 0x1;
    static final int END_HEADERS = 0x4;
    static final int ACK = 0x1;

    /** One frame read from the server. */
    record Frame(int type, int flags, int stream, byte[] payload) {
        int errorCode() {
            int off = type == GOAWAY ? 4 : 0;
            return ((payload[off] & 0xff) << 24) | ((payload[off + 1] & 0xff) << 16)
                    | ((payload[off + 2] & 0xff) << 8) | (payload[off + 3] & 0xff);
        }

        int lastStreamId() {
            return ((payload[0] & 0x7f) << 24) | ((payload[1] & 0xff) << 16) | ((payload[2] & 0xff) << 8)
                    | (payload[3] & 0xff);
        }
    }

    /** A response read off one stream. */
    record Response(Http2Headers headers, byte[] body, Http2Headers trailers, Integer resetCode,
                    java.util.List<String> informational) {
        String status() {
            return headers == null ? null : headers.status().toString();
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    /** While set, frames gather here and go out in one write (see {@link #inOneWrite}). */
    private java.io.ByteArrayOutputStream gathered;
    private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
    private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);

    RawH2(int port) throws IOException {
        this(port, new byte[0]);
    }

    /** @param settings the payload of the client's first SETTINGS frame (6 bytes per setting) */
    RawH2(int port, byte[] settings) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        frame(SETTINGS, 0, 0, settings);
    }

    /** A connection on {@code socket} that has sent nothing yet. */
    private RawH2(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(10_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /**
     * Asks for h2c with {@code GET path} (stream 1 once upgraded) and sends, in the same write, the
     * HTTP/2 preface and what {@code behind} writes (raw bytes: a client that does not wait for the
     * 101); then reads the answer's head, returned with the connection.
     */
    static Upgraded upgradeWith(int port, String path, byte[] behind) throws IOException {
        RawH2 h2 = new RawH2(new Socket("127.0.0.1", port));
        byte[] request = ("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = java.util.Arrays.copyOf(request, request.length + behind.length);
        System.arraycopy(behind, 0, all, request.length, behind.length);
        h2.out.write(all);
        h2.out.flush();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = h2.in.read();
            if (c < 0) {
                break;
            }
            head.append((char) c);
        }
        return new Upgraded(head.toString(), h2);
    }

    record Upgraded(String head, RawH2 h2) {
    }

    /** The client's connection preface and an empty SETTINGS frame. */
    static byte[] preface() {
        byte[] p = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] withSettings = java.util.Arrays.copyOf(p, p.length + 9);
        withSettings[p.length + 3] = SETTINGS;
        return withSettings;
    }

    /** A HEADERS frame that ends its stream, as raw bytes (its fields with a fresh HPACK context). */
    static byte[] headersFrame(int stream, Http2Headers headers) throws Exception {
        ByteBuf buf = Unpooled.buffer();
        try {
            new DefaultHttp2HeadersEncoder().encodeHeaders(stream, headers, buf);
            byte[] f = new byte[9 + buf.readableBytes()];
            int n = buf.readableBytes();
            f[0] = (byte) (n >>> 16);
            f[1] = (byte) (n >>> 8);
            f[2] = (byte) n;
            f[3] = HEADERS;
            f[4] = END_HEADERS | END_STREAM;
            f[5] = (byte) (stream >>> 24);
            f[6] = (byte) (stream >>> 16);
            f[7] = (byte) (stream >>> 8);
            f[8] = (byte) stream;
            buf.readBytes(f, 9, n);
            return f;
        } finally {
            buf.release();
        }
    }

    /** One SETTINGS entry. */
    static byte[] setting(int id, int value) {
        return new byte[] {(byte) (id >>> 8), (byte) id, (byte) (value >>> 24), (byte) (value >>> 16),
                (byte) (value >>> 8), (byte) value};
    }

    void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] h = new byte[9];
        h[0] = (byte) (payload.length >>> 16);
        h[1] = (byte) (payload.length >>> 8);
        h[2] = (byte) payload.length;
        h[3] = (byte) type;
        h[4] = (byte) flags;
        h[5] = (byte) (stream >>> 24);
        h[6] = (byte) (stream >>> 16);
        h[7] = (byte) (stream >>> 8);
        h[8] = (byte) stream;
        if (gathered != null) {
            gathered.write(h);
            gathered.write(payload);
            return;
        }
        out.write(h);
        out.write(payload);
        out.flush();
    }

    /** A step that writes frames. */
    interface FrameWrites {
        void run() throws Exception;
    }

    /** Sends the frames {@code writes} makes in one socket write, so that Portico reads them together. */
    void inOneWrite(FrameWrites writes) throws Exception {
        gathered = new java.io.ByteArrayOutputStream();
        try {
            writes.run();
        } finally {
            byte[] all = gathered.toByteArray();
            gathered = null;
            out.write(all);
            out.flush();
        }
    }

    byte[] block(Http2Headers headers) throws Exception {
        ByteBuf buf = Unpooled.buffer();
        try {
            encoder.encodeHeaders(1, headers, buf);
            byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            return b;
        } finally {
            buf.release();
        }
    }

    static Http2Headers get(String path) {
        return request("GET", path);
    }

    static Http2Headers request(String method, String path) {
        return new DefaultHttp2Headers(false).method(method).path(path).scheme("http").authority("localhost");
    }

    void headers(int stream, Http2Headers headers, boolean endStream) throws Exception {
        frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, block(headers));
    }

    void data(int stream, byte[] bytes, boolean endStream) throws IOException {
        frame(DATA, endStream ? END_STREAM : 0, stream, bytes);
    }

    void rst(int stream, int code) throws IOException {
        frame(RST_STREAM, 0, stream, int32(code));
    }

    static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    /** The next frame, or null when the server closed the connection. */
    Frame next() throws IOException {
        byte[] h = new byte[9];
        try {
            in.readFully(h);
        } catch (EOFException closed) {
            return null;
        }
        int len = ((h[0] & 0xff) << 16) | ((h[1] & 0xff) << 8) | (h[2] & 0xff);
        int stream = ((h[5] & 0x7f) << 24) | ((h[6] & 0xff) << 16) | ((h[7] & 0xff) << 8) | (h[8] & 0xff);
        byte[] payload = new byte[len];
        in.readFully(payload);
        return new Frame(h[3] & 0xff, h[4] & 0xff, stream, payload);
    }

    /** Decodes a HEADERS frame (every one must be, in order, for HPACK's sake). */
    Http2Headers headersOf(Frame f) throws Exception {
        return decode(f);
    }

    private Http2Headers decode(Frame f) throws Exception {
        ByteBuf buf = Unpooled.wrappedBuffer(f.payload());
        try {
            return decoder.decodeHeaders(f.stream(), buf);
        } finally {
            buf.release();
        }
    }

    /**
     * Sends a PING and reads until its ACK, decoding HEADERS on the way: everything sent before the
     * PING has then been read by the server. Returns the other frames read; fails when the
     * connection ends first.
     */
    java.util.List<Frame> pingRoundTrip() throws Exception {
        frame(PING, 0, 0, new byte[8]);
        java.util.List<Frame> seen = new java.util.ArrayList<>();
        Frame f;
        while ((f = next()) != null) {
            if (f.type() == PING && (f.flags() & ACK) != 0) {
                return seen;
            }
            if (f.type() == HEADERS) {
                decode(f);
            }
            seen.add(f);
        }
        throw new AssertionError("connection closed before the PING was answered");
    }

    /** Reads until the server's GOAWAY, and returns it; fails when the connection ends without one. */
    Frame awaitGoAway() throws Exception {
        Frame f;
        try {
            while ((f = next()) != null) {
                if (f.type() == GOAWAY) {
                    return f;
                }
                if (f.type() == HEADERS) {
                    decode(f);
                } else if (f.type() == PING && (f.flags() & ACK) == 0) {
                    frame(PING, ACK, 0, f.payload());
                }
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no GOAWAY within the timeout", e);
        } catch (IOException reset) {
            throw new AssertionError("connection ended without GOAWAY", reset);
        }
        throw new AssertionError("connection closed without GOAWAY");
    }

    /** Reads the response of {@code stream}, decoding other streams' headers on the way. */
    Response response(int stream) throws Exception {
        Http2Headers head = null;
        Http2Headers trailers = null;
        java.util.List<String> informational = new java.util.ArrayList<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        Frame f;
        while ((f = next()) != null) {
            if (f.type() == HEADERS) {
                Http2Headers h = decode(f);
                if (f.stream() == stream) {
                    if (head == null || head.status().charAt(0) == '1') {
                        if (h.status() != null && h.status().charAt(0) == '1') {
                            informational.add(h.status().toString());
                        }
                        head = h;
                    } else {
                        trailers = h;
                    }
                    if ((f.flags() & END_STREAM) != 0) {
                        return new Response(head, body.toByteArray(), trailers, null, informational);
                    }
                }
            } else if (f.type() == DATA && f.stream() == stream) {
                body.write(f.payload());
                if ((f.flags() & END_STREAM) != 0) {
                    return new Response(head, body.toByteArray(), trailers, null, informational);
                }
                if (f.payload().length > 0) {
                    frame(WINDOW_UPDATE, 0, 0, int32(f.payload().length));
                    frame(WINDOW_UPDATE, 0, stream, int32(f.payload().length));
                }
            } else if (f.type() == RST_STREAM && f.stream() == stream) {
                return new Response(head, body.toByteArray(), trailers, f.errorCode(), informational);
            } else if (f.type() == GOAWAY) {
                throw new AssertionError("GOAWAY while waiting for stream " + stream + ": code " + f.errorCode() + " ("
                        + new String(f.payload(), 8, f.payload().length - 8, StandardCharsets.UTF_8) + ")");
            } else if (f.type() == PING && (f.flags() & ACK) == 0) {
                frame(PING, ACK, 0, f.payload());
            }
        }
        throw new AssertionError("connection closed while waiting for stream " + stream);
    }

    /** Whether the server ends the connection (FIN or RST) within the read timeout, skipping frames before that. */
    boolean closedByServer() throws IOException {
        try {
            while (next() != null) {
                // frames still in flight before the close
            }
            return true;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
