package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The HTTP/1.1 server codec of a client connection: Netty's {@code HttpServerCodec} (a request
 * decoder and a response encoder that remembers each request's method, so a HEAD's answer and a
 * CONNECT's 2xx carry no body), with two things it cannot do, being final:
 * <ul>
 *   <li>the status line of an HTTP/1.1 response with one of Netty's standard statuses is copied
 *       whole from a table, where Netty writes the version and reason phrase byte by byte;</li>
 *   <li>a {@link PreEncoded} response (a cache hit) carries most of its head already encoded: its
 *       bytes are copied, and only the few fields that change per request ({@code Age}, the request
 *       id, {@code Cache-Status}) are encoded as fields. A complete small body is copied into the
 *       same buffer, so the whole answer is one write. The head of a hit was 14 % of Portico's CPU
 *       per 1 KiB hit, most of it copying the stored fields into a new header map and encoding
 *       them one by one.</li>
 * </ul>
 * The request side, the method queue and its depth limit, and the close after a request that had
 * both {@code Transfer-Encoding} and {@code Content-Length} behave as in Netty's codec.
 */
final class Http1ServerCodec extends CombinedChannelDuplexHandler<HttpRequestDecoder, HttpResponseEncoder>
        implements HttpServerUpgradeHandler.SourceCodec {

    /** A response whose head is mostly bytes already: {@link #prefix} then its {@code headers()}. */
    interface PreEncoded {
        /** The encoded fields that come first, each ending in CRLF (no status line, no final CRLF). */
        byte[] prefix();

        /** Whether {@link #prefix} holds an Alt-Svc field ({@link AltSvcHandler} adds one unless the response has it). */
        boolean altSvcInPrefix();
    }

    private static final byte METHOD_OTHER = 0;
    private static final byte METHOD_HEAD = 1;
    private static final byte METHOD_CONNECT = 2;
    /** A complete body up to this size is copied into its head's buffer: one buffer, one write. */
    static final int EMBED_MAX = 8192;
    /** "HTTP/1.1 200 OK\r\n" and the like, by status code, for Netty's standard statuses. */
    private static final byte[][] STATUS_LINES = new byte[600][];
    private static final HttpResponseStatus[] STATUSES = new HttpResponseStatus[600];

    static {
        for (int code = 100; code < 600; code++) {
            HttpResponseStatus s = HttpResponseStatus.valueOf(code);
            // valueOf makes a new object for codes it has no constant for: only constants are tabled.
            if (s == HttpResponseStatus.valueOf(code)) {
                STATUSES[code] = s;
                STATUS_LINES[code] = ("HTTP/1.1 " + code + " " + s.reasonPhrase() + "\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1);
            }
        }
    }

    private final int maxPipelineDepth;
    /** Methods of the requests decoded and not yet answered, oldest first. */
    private final ArrayDeque<Byte> methods = new ArrayDeque<>(4);
    private boolean mustCloseAfterResponse;

    /**
     * @param maxPipelineDepth requests decoded and not yet answered past which the connection
     *                         fails, as Netty's codec does
     */
    Http1ServerCodec(HttpDecoderConfig config, int maxPipelineDepth) {
        this.maxPipelineDepth = maxPipelineDepth;
        init(new RequestDecoder(config), new ResponseEncoder());
    }

    /**
     * Leaves the pipeline for the protocol an upgrade request asked for. Bytes the decoder read past
     * that request (a client that sends its HTTP/2 preface without waiting for the 101) would go to
     * the handlers behind it as it leaves, before the new protocol's are in: the framing guard
     * takes them, and passes them on once they are.
     */
    @Override
    public void upgradeFrom(ChannelHandlerContext ctx) {
        ByteBuf left = ((RequestDecoder) inboundHandler()).leftover();
        RequestFramingGuard guard = ctx.pipeline().get(RequestFramingGuard.class);
        if (left.isReadable() && guard != null) {
            guard.holdFirst(left.readRetainedSlice(left.readableBytes()));
        }
        ctx.pipeline().remove(this);
    }

    private boolean enqueue(HttpMethod method) {
        if (methods.size() >= maxPipelineDepth) {
            return false;
        }
        methods.add(HttpMethod.HEAD.equals(method) ? METHOD_HEAD
                : HttpMethod.CONNECT.equals(method) ? METHOD_CONNECT : METHOD_OTHER);
        return true;
    }

    private byte poll() {
        Byte m = methods.poll();
        return m == null ? METHOD_OTHER : m;
    }

    /** The status line from the table, or null for another version or a status of one's own. */
    static byte[] statusLine(HttpVersion version, HttpResponseStatus status) {
        int code = status.code();
        if (version == HttpVersion.HTTP_1_1 && code >= 100 && code < 600 && STATUSES[code] == status) {
            return STATUS_LINES[code];
        }
        return null;
    }

    private final class RequestDecoder extends HttpRequestDecoder {
        private boolean discard;

        RequestDecoder(HttpDecoderConfig config) {
            super(config);
        }

        /** What the decoder holds that it has not decoded yet. */
        ByteBuf leftover() {
            return internalBuffer();
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
            if (discard) {
                buffer.skipBytes(buffer.readableBytes());
                return;
            }
            int oldSize = out.size();
            super.decode(ctx, buffer, out);
            int size = out.size();
            for (int i = oldSize; i < size; i++) {
                Object obj = out.get(i);
                if (obj instanceof HttpRequest request && !enqueue(request.method())) {
                    mustCloseAfterResponse = true;
                    discard = true;
                    for (int j = i; j < size; j++) {
                        ReferenceCountUtil.release(out.get(j));
                    }
                    out.subList(i, size).clear();
                    throw new IllegalStateException("maxPipelineDepth exceeded: " + maxPipelineDepth);
                }
            }
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            super.handleTransferEncodingChunkedWithContentLength(message);
            mustCloseAfterResponse = true;
        }
    }

    private final class ResponseEncoder extends HttpResponseEncoder {

        private byte method;
        /** Inside the body of a pre-encoded head: its parts pass as bytes, Netty's encoder never saw the head. */
        private boolean bypassing;
        /** The body being bypassed answers a HEAD: none of it goes out. */
        private boolean noBodyInBypass;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (mustCloseAfterResponse && msg instanceof LastHttpContent) {
                mustCloseAfterResponse = false;
                promise = promise.unvoid().addListener(ChannelFutureListener.CLOSE);
            }
            if (bypassing) {
                writeBypassed(ctx, msg, promise);
            } else if (msg instanceof PreEncoded pre && msg instanceof HttpResponse response) {
                writePreEncoded(ctx, response, pre.prefix(), promise);
            } else {
                super.write(ctx, msg, promise);
            }
        }

        private void writePreEncoded(ChannelHandlerContext ctx, HttpResponse response, byte[] prefix,
                                     ChannelPromise promise) throws Exception {
            boolean noBody = poll() == METHOD_HEAD;
            boolean last = response instanceof LastHttpContent;
            ByteBuf body = last ? ((LastHttpContent) response).content() : Unpooled.EMPTY_BUFFER;
            boolean embed = !noBody && body.readableBytes() <= EMBED_MAX;
            ByteBuf buf = ctx.alloc().buffer(prefix.length + 256 + (embed ? body.readableBytes() : 0));
            try {
                encodeInitialLine(buf, response);
                buf.writeBytes(prefix);
                encodeHeaders(response.headers(), buf);
                ByteBufUtil.writeShortBE(buf, ('\r' << 8) | '\n');
                if (embed) {
                    buf.writeBytes(body);
                }
            } catch (Throwable t) {
                buf.release();
                ReferenceCountUtil.release(response);
                throw t;
            }
            if (!last) {
                // The body follows as content messages; a HEAD's (never sent by the cache) is dropped.
                bypassing = true;
                noBodyInBypass = noBody;
                ReferenceCountUtil.release(response);
                ctx.write(buf, promise);
            } else if (embed || noBody) {
                ReferenceCountUtil.release(response);
                ctx.write(buf, promise);
            } else {
                ctx.write(buf);
                ctx.write(body, promise);
            }
        }

        private void writeBypassed(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof HttpContent content) {
                if (msg instanceof LastHttpContent) {
                    bypassing = false;
                }
                ByteBuf bytes = content.content();
                if (noBodyInBypass) {
                    bytes.release();
                    ctx.write(Unpooled.EMPTY_BUFFER, promise);
                } else {
                    // The content's one reference is its buffer's: it goes on as the buffer.
                    ctx.write(bytes, promise);
                }
            } else if (noBodyInBypass) {
                ReferenceCountUtil.release(msg);
                ctx.write(Unpooled.EMPTY_BUFFER, promise);
            } else {
                // A ByteBuf or FileRegion of the body, as Netty's encoder passes them on.
                ctx.write(msg, promise);
            }
        }

        @Override
        protected void encodeInitialLine(ByteBuf buf, HttpResponse response) throws Exception {
            byte[] line = statusLine(response.protocolVersion(), response.status());
            if (line != null) {
                buf.writeBytes(line);
            } else {
                super.encodeInitialLine(buf, response);
            }
        }

        @Override
        protected void sanitizeHeadersBeforeEncode(HttpResponse msg, boolean isAlwaysEmpty) {
            if (!isAlwaysEmpty && method == METHOD_CONNECT && msg.status().codeClass() == HttpStatusClass.SUCCESS) {
                // RFC 9112 section 6.1: a 2xx to CONNECT has no Transfer-Encoding.
                msg.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
                return;
            }
            super.sanitizeHeadersBeforeEncode(msg, isAlwaysEmpty);
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpResponse msg) {
            // A 1xx answers no request on its own: the method stays for the final response.
            if (msg.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                return super.isContentAlwaysEmpty(msg);
            }
            method = poll();
            return method == METHOD_HEAD || super.isContentAlwaysEmpty(msg);
        }
    }
}
