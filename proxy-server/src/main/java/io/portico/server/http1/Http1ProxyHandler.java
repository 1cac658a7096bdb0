package io.portico.server.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.portico.server.http2.Http2Counters;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.portico.tls.ServerTls;

import javax.net.ssl.SSLException;
import io.netty.handler.codec.DecoderException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import io.portico.server.l4.ClientAddress;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.portico.http.RequestIds;
import io.portico.server.metrics.ListenerMetrics;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * One HTTP/1.1 client connection. Requests are handled one at a time in arrival order: a
 * pipelined request waits in {@link #queued} until the one before it has been answered, so
 * responses leave in order. AUTO_READ is off; this handler asks for bytes only when it can use
 * them (see {@link #maybeRead()}).
 *
 * <p>The same handler serves one HTTP/2 or HTTP/3 request stream (a channel of its own behind the
 * stream bridge): then it sees exactly one request, never keeps anything alive, and leaves the
 * connection's lifecycle (drain, idle close) to the connection's handler.
 */
final class Http1ProxyHandler extends ChannelDuplexHandler {

    /** When the connection was accepted (epoch ms), set by {@link ClientTrafficHandler}. */
    static final io.netty.util.AttributeKey<Long> ACCEPTED_AT = io.netty.util.AttributeKey.valueOf("portico.acceptedAt");

    private final ListenerContext context;
    private final boolean stream;
    /** {@link ListenerMetrics#HTTP_2} or {@link ListenerMetrics#HTTP_3} for a stream; unused otherwise. */
    private final int streamProtocol;
    /**
     * Requests a connection may have waiting behind the one in progress. Netty decodes a whole read
     * at once (up to 64 KiB, some 2,000 small requests), and the connection reads no more while any
     * wait, so one read is all that can queue; without this bound the requests of that read were
     * all held as objects while the first waited on its upstream, none of it counted by the buffer
     * budget, and past 128 Netty's codec failed the connection with nothing answered (see
     * {@link Http1ServerInitializer#MAX_DECODED_PIPELINE}). nginx and HAProxy hold a pipeline as
     * unread bytes in a bounded buffer instead.
     */
    static final int MAX_QUEUED_REQUESTS = 64;

    /** Pipelined messages waiting their turn; made at the first, as most connections never pipeline. */
    private ArrayDeque<HttpObject> queued;
    /** Requests (heads) in {@link #queued}. */
    private int queuedRequests;
    /**
     * Once more than {@link #MAX_QUEUED_REQUESTS} were pipelined: the number of the last request
     * this connection answers (with {@code Connection: close}); everything after it is dropped
     * unread, and the client sends it again on a new connection (RFC 9112 section 9.3.2). 0 while
     * the pipeline fits.
     */
    private int lastAnswered;
    private ChannelHandlerContext ctx;
    private InetSocketAddress remote;
    private String remoteText = "-";
    private String sniName;
    /** The verified client certificate (mTLS), or null: one field, as most connections have none. */
    private ClientCertificate clientCertificate;
    private Exchange current;
    private int requests;
    private boolean closing;
    private boolean draining;
    private boolean replaying;
    /**
     * A fault in what came after the current request (a bad request pipelined behind it): answered,
     * and the connection closed, once the current request has had its own answer.
     */
    private ClientFault laterFault;
    /** The exchange in progress was ended by a client deadline (408): its close does not linger. */
    private boolean timedOut;
    /**
     * While the connection is parked between requests (see {@link KeepAliveWaiting}): the list it
     * waits in, else null; then its deadline (nanoTime) and its neighbours in that list. Kept here
     * rather than in an object and a pipeline entry of their own, which an idle connection would
     * otherwise hold (104 bytes of some 1,700).
     */
    KeepAliveWaiting parkedIn;
    long parkedUntil;
    Http1ProxyHandler parkedPrev;
    Http1ProxyHandler parkedNext;

    Http1ProxyHandler(ListenerContext context) {
        this.context = context;
        this.stream = false;
        this.streamProtocol = ListenerMetrics.HTTP_1_1;
    }

    /**
     * The handler of one request stream, with the TLS identity of its connection.
     *
     * @param protocol {@link ListenerMetrics#HTTP_2} or {@link ListenerMetrics#HTTP_3}
     */
    Http1ProxyHandler(ListenerContext context, int protocol, String sniName, String clientSubject,
                      String clientFingerprint) {
        this.context = context;
        this.stream = true;
        this.streamProtocol = protocol;
        this.sniName = sniName;
        this.clientCertificate = clientSubject == null ? null : new ClientCertificate(clientSubject, clientFingerprint);
    }

    /** Whether this handler serves one request stream (HTTP/2 or HTTP/3) rather than a connection. */
    boolean stream() {
        return stream;
    }

    /** The protocol of this stream's requests ({@link ListenerMetrics#HTTP_2} or {@link ListenerMetrics#HTTP_3}). */
    int streamProtocol() {
        return streamProtocol;
    }

    ListenerContext context() {
        return context;
    }

    /**
     * Whether responses written here are encoded by this connection's {@link Http1ServerCodec},
     * which takes {@link Http1ServerCodec.PreEncoded} heads; a stream's go through HTTP/2 or HTTP/3
     * framing instead.
     */
    boolean encodesHeads() {
        return !stream;
    }

    /**
     * Whether a response body may be written as a file region: only on a plain HTTP/1.1
     * connection, where the bytes go to the socket as they are (TLS and HTTP/2 or HTTP/3 framing
     * need them in memory), and only on epoll and NIO, which send a region with one sendfile(2).
     * Netty's io_uring splices a region through a new pipe per response, 64 KiB per round and
     * each step a completion away: a 100 KiB hit cost more CPU that way than copied (50 against
     * 37-41 us, BENCHMARKS.md).
     */
    boolean sendsFiles() {
        Channel ch = ctx.channel();
        return !stream && context.tls() == null && (ch instanceof EpollSocketChannel || ch instanceof NioSocketChannel);
    }

    ChannelHandlerContext ctx() {
        return ctx;
    }

    InetSocketAddress remote() {
        return remote;
    }

    /** The client's address as text, computed once per connection for the access log. */
    String remoteText() {
        return remoteText;
    }

    /** Requests seen on this connection, the current one included. */
    int requests() {
        return requests;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (context.config().http3().enabled() && (!stream || streamProtocol == ListenerMetrics.HTTP_2)) {
            // Right in front of this handler, so it sees each response head this handler writes.
            ctx.pipeline().addBefore(ctx.name(), AltSvcHandler.NAME, new AltSvcHandler(context));
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // The address a trusted PROXY protocol header carried, if one came, else the peer's.
        remote = ClientAddress.of(ctx.channel());
        if (remote != null && remote.getAddress() != null) {
            // As nginx prints it: ::1 rather than 0:0:0:0:0:0:0:1.
            remoteText = context.addressText(remote.getAddress());
        }
        // A connection is counted by its first handler (ClientTrafficHandler).
        if (streamProtocol == ListenerMetrics.HTTP_3) {
            // A QUIC connection outlives config generations (its streams each take the newest
            // context); the stream itself keeps its generation open until it ends.
            context.streamOpened(ctx.channel());
        }
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (parkedIn != null && msg instanceof ByteBuf bytes) {
            unpark(bytes);
            return;
        }
        if (!(msg instanceof HttpObject http) || closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (http instanceof FullHttpRequest full && full.decoderResult().isSuccess()) {
            // An h2c upgrade that did not happen hands the request on aggregated. (A failed decode
            // arrives as a FullHttpRequest too, and goes on as it is to be answered 400/414/431.)
            DefaultHttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(),
                    full.headers());
            channelRead(ctx, head);
            channelRead(ctx, new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
            return;
        }
        if (!queuedEmpty() || replaying) {
            queue(http);
            return;
        }
        dispatch(http);
    }

    private void dispatch(HttpObject msg) {
        if (msg instanceof HttpRequest request) {
            if (current != null) {
                queue(msg);
                return;
            }
            startRequest(request);
            // A full request (HttpRequest + LastHttpContent) arrives as two messages; the content follows.
            return;
        }
        HttpContent content = (HttpContent) msg;
        if (current != null && !current.requestComplete()) {
            current.onRequestContent(content);
        } else if (current != null) {
            queue(content);
        } else {
            content.release();
        }
    }

    private void startRequest(HttpRequest request) {
        requests++;
        if (request.decoderResult().isFailure()) {
            badRequest(request.decoderResult().cause());
            return;
        }
        Exchange exchange = Exchange.start(this, request);
        current = exchange;
        exchange.begin();
    }

    private void badRequest(Throwable cause) {
        HttpResponseStatus status = HttpResponseStatus.BAD_REQUEST;
        if (cause instanceof TooLongHttpLineException) {
            status = HttpResponseStatus.REQUEST_URI_TOO_LONG;
        } else if (cause instanceof TooLongHttpHeaderException) {
            status = HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
        } else if (cause instanceof TooLongFrameException) {
            status = HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
        }
        // The decoder discards everything after a bad message: answer and close.
        reject(status, "bad_request:" + cause.getClass().getSimpleName());
    }

    /** Answers a request that has no exchange (a bad or late head) with {@code status}, and closes. */
    private void reject(HttpResponseStatus status, String reason) {
        closing = true;
        releaseQueued();
        String requestId = RequestIds.generate();
        FullHttpResponse r = LocalResponses.error(ctx.alloc(), status, requestId, false);
        LocalResponses.markClose(r, false, false);
        r.headers().set(context.requestIdHeader(), requestId);
        long bytes = r.content().readableBytes();
        // The bytes behind a refused request may still be coming (not after a timeout, see exchangeDone).
        boolean linger = !stream && status.code() != HttpResponseStatus.REQUEST_TIMEOUT.code();
        ctx.writeAndFlush(r).addListener(linger ? LingeringClose.AFTER_WRITE : ChannelFutureListener.CLOSE);
        Exchange.logRejected(this, status.code(), requestId, bytes, reason);
    }

    /** Bad framing or a client deadline: the exchange in progress answers or aborts, else Portico does; then close. */
    private void onClientFault(ClientFault fault) {
        if (closing || laterFault != null) {
            return;
        }
        Exchange exchange = current;
        if (exchange != null && exchange.requestComplete()) {
            // The fault is not this request's, which is whole and may be upstream already: it gets
            // its own answer, then the fault's answer goes out and the connection closes (see
            // exchangeDone). Requests queued between the two are never started.
            laterFault = fault;
            return;
        }
        if (exchange != null) {
            timedOut = fault.status().code() == HttpResponseStatus.REQUEST_TIMEOUT.code();
            exchange.onClientFault(fault.status(), fault.reason());
            if (current == exchange) {
                // The exchange had already finished its part: nothing will close the connection but us.
                ctx.close();
            }
            closing = true;
            releaseQueued();
            return;
        }
        reject(fault.status(), fault.reason());
    }

    /**
     * Writes and flushes the last part of a response: with the connection's void promise when the
     * connection stays open after it (one promise fewer per request) or is an HTTP/2 stream (which
     * its bridge ends, see {@link #closesItself}), else with one that {@link #exchangeDone} closes
     * the connection on.
     */
    ChannelFuture writeLast(ChannelHandlerContext out, Object last, boolean keepAlive) {
        return keepAlive && !closing && !draining || closesItself()
                ? out.writeAndFlush(last, out.voidPromise())
                : out.writeAndFlush(last);
    }

    /**
     * Whether this handler serves an HTTP/2 stream, whose bridge sees to the end of it once the
     * response's last frame is written: when the client had ended its side, Netty closes the
     * stream's channel as soon as the last frame is out (the bridge keeps a read pending, so no
     * late frame queued on the channel can hold it open); else the bridge resets the stream
     * (NO_ERROR) after that frame and closes the channel. Closing it from here as well would
     * only cost a promise, a listener and a close call per request. (An HTTP/3 stream's bridge
     * ends the stream when its channel is closed, so those are still closed here.)
     */
    private boolean closesItself() {
        return streamProtocol == ListenerMetrics.HTTP_2;
    }

    /**
     * Called by the current exchange when its response has been written.
     *
     * @param keepAlive whether the connection serves another request
     * @param last      the future of the response's last write
     */
    void exchangeDone(boolean keepAlive, ChannelFuture last) {
        // A request whose body was not read whole (a 413 during an upload), or requests pipelined
        // behind this one, leave the client sending: the connection's close lingers (see
        // LingeringClose). Not after a timeout: a client that trickles would keep its slot longer.
        boolean unread = !stream && !timedOut
                && (current != null && current.bodyUnread() || !queuedEmpty() || laterFault != null);
        current = null;
        if (!keepAlive || closing || draining) {
            closing = true;
            releaseQueued();
            if (last.isVoid()) {
                // An HTTP/2 stream's last write (its bridge ends the stream), or written as on a
                // connection that stays open (writeLast) and then the write failed (its failure
                // closed the connection meanwhile): nothing to wait for.
                if (!closesItself()) {
                    ctx.close();
                }
            } else {
                last.addListener(unread ? LingeringClose.AFTER_WRITE : ChannelFutureListener.CLOSE);
            }
            return;
        }
        if (laterFault != null) {
            reject(laterFault.status(), laterFault.reason());
            return;
        }
        if (replaying) {
            // A queued request finished while the queue is being replayed: the outer loop goes on.
            return;
        }
        replaying = true;
        try {
            HttpObject next;
            while (!closing && queued != null && (next = queued.peek()) != null) {
                if (next instanceof HttpRequest && current != null) {
                    break;
                }
                queued.poll();
                if (next instanceof HttpRequest) {
                    queuedRequests--;
                }
                dispatch(next);
            }
        } finally {
            replaying = false;
        }
        maybeRead();
    }

    /**
     * Makes {@code next} the exchange this connection's events go to: a cache exchange handing the
     * request to a proxy exchange, or getting it back to answer from the store.
     */
    void replaceCurrent(Exchange next) {
        current = next;
    }

    /**
     * The connection became a WebSocket tunnel: this handler leaves the pipeline and forgets the
     * exchange; the relay owns the connection from now on.
     */
    void upgraded() {
        current = null;
        closing = true;
        // Requests the client pipelined behind the handshake were decoded: the tunnel would carry
        // a stream with a hole in it.
        boolean hole = !queuedEmpty();
        releaseQueued();
        // Bytes sent behind the upgrade request, which broke the HTTP framing (laterFault), are
        // the relay's: the framing guard hands them on as it leaves (or closes the connection if
        // it could not keep them all).
        ctx.pipeline().remove(this);
        if (hole) {
            ctx.channel().close();
        }
    }

    /**
     * The request being started asks for a WebSocket: bytes the client sends right behind it,
     * before the 101, are kept for the relay (see {@link RequestFramingGuard}).
     */
    void expectUpgrade() {
        RequestFramingGuard guard = ctx.pipeline().get(RequestFramingGuard.class);
        if (guard != null) {
            guard.expectUpgrade();
        }
    }

    /** Whether this response may keep the connection open, as far as the connection is concerned. */
    boolean connectionReusable() {
        return !stream && !closing && !draining && !context.lifecycle().draining() && !context.retired()
                && requests < context.config().http().keepaliveRequests()
                && (lastAnswered == 0 || requests < lastAnswered);
    }

    /** Asks for more bytes when somebody can use them. */
    void maybeRead() {
        if (closing) {
            return;
        }
        if (current == null) {
            if (queuedEmpty()) {
                ctx.read();
            }
        } else if (current.wantsRequestBytes() && queuedEmpty()) {
            ctx.read();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange exchange = current;
        if (exchange != null) {
            exchange.onRequestReadComplete();
        }
        maybeRead();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange exchange = current;
        if (exchange != null) {
            exchange.onClientWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent handshake) {
            onHandshake(handshake);
            return;
        }
        if (evt instanceof IdleStateEvent) {
            if (stream) {
                onStreamIdle();
            } else if (current == null && queuedEmpty()) {
                ctx.close();
            }
            return;
        }
        if (evt instanceof ClientFault fault) {
            onClientFault(fault);
            return;
        }
        if (evt instanceof MalformedStream malformed) {
            onMalformed(malformed);
            return;
        }
        if (evt == ServerLifecycle.DRAIN || evt == ServerLifecycle.RETIRE) {
            draining = true;
            if (current == null && queuedEmpty()) {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * The stream is about to be reset as malformed. An exchange in progress ends with a 400 line;
     * a request that never became one gets its line here; one whose exchange has ended has its line.
     */
    private void onMalformed(MalformedStream malformed) {
        Exchange exchange = current;
        if (exchange != null) {
            exchange.malformed(malformed.reason());
        } else if (requests == 0 && !closing) {
            requests++;
            closing = true;
            releaseQueued();
            Exchange.logMalformed(context, remoteText, streamProtocol, malformed, true);
        }
    }

    /**
     * Nothing moved on this stream for stream_idle_timeout. A stream waiting for its upstream is
     * left to the upstream timeouts; one stuck on the client — a zero window, a body that stopped
     * coming — is reset, so it cannot hold a slot and buffers forever.
     */
    private void onStreamIdle() {
        Exchange exchange = current;
        if (exchange == null || !ctx.channel().isWritable() || exchange.wantsRequestBytes()) {
            if (streamProtocol == ListenerMetrics.HTTP_3) {
                context.metrics().http3().streamIdleTimeout();
            } else {
                context.http2Counters().count(Http2Counters.Reason.STREAM_IDLE_TIMEOUT);
            }
            if (exchange != null) {
                exchange.log.error = "stream_idle_timeout";
            }
            ctx.close();
        }
    }

    /**
     * The first bytes after the connection parked: the HTTP/1.1 handlers go back in front of this
     * one (a new connection's state: the head's deadline runs from its first byte) and read them.
     */
    private void unpark(ByteBuf bytes) {
        parkedIn.remove(this);
        ChannelPipeline pipeline = ctx.pipeline();
        // In front of the Alt-Svc handler too, when there is one: it must see responses before the codec.
        String before = pipeline.context(AltSvcHandler.NAME) != null ? AltSvcHandler.NAME : ctx.name();
        try {
            pipeline.addBefore(before, Http1ServerInitializer.FRAMING, new RequestFramingGuard());
            pipeline.addBefore(before, Http1ServerInitializer.HTTP_CODEC, Http1ServerInitializer.newCodec(context));
            pipeline.addBefore(before, Http1ServerInitializer.DEADLINES, new ClientDeadlines(context));
        } catch (RuntimeException e) {
            // Nobody has taken the bytes yet: they are this handler's to release.
            bytes.release();
            exceptionCaught(ctx, e);
            return;
        }
        ChannelHandlerContext framing = pipeline.context(Http1ServerInitializer.FRAMING);
        try {
            ((ChannelInboundHandler) framing.handler()).channelRead(framing, bytes);
        } catch (Throwable t) {
            framing.fireExceptionCaught(t);
        }
    }

    /** Takes the connection out of its keep-alive waiting list, if it is parked. */
    void unlinkParked() {
        if (parkedIn != null) {
            parkedIn.remove(this);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        unlinkParked();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        unlinkParked();
        closing = true;
        releaseQueued();
        Exchange exchange = current;
        current = null;
        if (exchange != null) {
            exchange.onClientClosed();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A failed TLS handshake arrives here too (after its completion event, which counted it).
        boolean tlsFailure = cause instanceof DecoderException && cause.getCause() instanceof SSLException;
        if (cause instanceof Http2FrameStreamException) {
            // The codec resets the stream with the right error code, which closes this channel and
            // ends the exchange; closing here would send CANCEL first.
            return;
        }
        if (!(cause instanceof IOException) && !tlsFailure) {
            Exchange.LOG.log(System.Logger.Level.WARNING, "client connection error from " + remote, cause);
        }
        ctx.close();
    }

    private void onHandshake(SslHandshakeCompletionEvent handshake) {
        if (!handshake.isSuccess()) {
            context.metrics().tlsHandshakeFailed();
            return;
        }
        TlsHandshakes.record(ctx.channel(), context.metrics());
        sniName = ServerTls.sniHostname(ctx.channel());
        X509Certificate leaf = ServerTls.clientCertificate(ctx.channel());
        if (leaf != null) {
            try {
                clientCertificate = new ClientCertificate(leaf.getSubjectX500Principal().getName(), sha256(leaf.getEncoded()));
            } catch (CertificateEncodingException unreadable) {
                // a certificate the engine accepted but cannot encode again: send no identity
            }
        }
    }

    static String sha256(byte[] der) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(der);
            StringBuilder sb = new StringBuilder(d.length * 2);
            for (byte b : d) {
                sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The server name the client sent in its TLS ClientHello, or null. */
    String sniName() {
        return sniName;
    }

    /** The verified client certificate's subject (mTLS), or null. */
    String clientSubject() {
        return clientCertificate == null ? null : clientCertificate.subject();
    }

    /** The verified client certificate's SHA-256 fingerprint in hex (mTLS), or null. */
    String clientFingerprint() {
        return clientCertificate == null ? null : clientCertificate.fingerprint();
    }

    private record ClientCertificate(String subject, String fingerprint) {
    }

    private void queue(HttpObject msg) {
        if (lastAnswered != 0) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest) {
            if (queuedRequests == MAX_QUEUED_REQUESTS) {
                // The pipeline is cut here: the requests before this one are answered, the last
                // of them closing the connection, and this one and all after it are dropped.
                lastAnswered = requests + queuedRequests;
                ReferenceCountUtil.release(msg);
                return;
            }
            queuedRequests++;
        }
        if (queued == null) {
            queued = new ArrayDeque<>(4);
        }
        queued.add(msg);
    }

    private boolean queuedEmpty() {
        return queued == null || queued.isEmpty();
    }

    /** No request in progress or waiting, nothing replaying: the connection is between requests. */
    boolean idle() {
        return current == null && queuedEmpty() && !replaying && !closing;
    }

    private void releaseQueued() {
        queuedRequests = 0;
        HttpObject o;
        while (queued != null && (o = queued.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

}
