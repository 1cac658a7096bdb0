package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.config.ProxyProtocolVersion;
import io.portico.server.limits.OutputProgress;
import io.portico.server.upstream.Backend;
import io.portico.server.upstream.GroupLoop;
import io.portico.server.upstream.UpstreamGroup;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One client connection of a {@code protocol: tcp} listener and its backend connection, relayed
 * byte for byte. The backend connection is opened on the client's event loop, so both channels
 * are only ever touched by one thread.
 *
 * <pre>
 *  client ──read──▶ [TcpRelay] ──write──▶ backend      read the client again only while the
 *  client ◀─write── [UpstreamSide] ◀─read── backend    backend is writable, and vice versa
 * </pre>
 *
 * Both channels have {@code AUTO_READ} off. After a read burst the bytes are flushed to the other
 * side, and the side is read again only if the other side is still writable; otherwise the other
 * side's writability event resumes it. So a slow reader holds at most one read burst plus the
 * write buffer's high water mark per direction. With splice(2) the same rule holds, the kernel
 * pipe's bytes counting as pending writes ({@link SpliceSizeEstimator}).
 *
 * <p>Half-close: a FIN from one side becomes, once everything read before it is written, a
 * {@code shutdownOutput} towards the other; the connection ends when both directions have.
 */
final class TcpRelay extends ChannelInboundHandlerAdapter implements ChannelFutureListener, Predicate<Backend> {

    /**
     * Netty's splice reads a socket into a 64 KiB pipe once per pass, and when that pass sees the
     * peer's FIN it shuts the socket's input at once, dropping whatever the pass could not take.
     * So a spliced socket must never hold more than the pipe has room for: its receive buffer is
     * capped ({@value #SPLICE_RECEIVE_BUFFER} B, which the kernel doubles to 32 KiB) and a side is
     * read again only once the pipe behind it is empty (writable below 1 byte pending). A pass then
     * meets at most one earlier pass's bytes in the pipe, and 2 x 32 KiB fits.
     */
    private static final int SPLICE_RECEIVE_BUFFER = 16 * 1024;
    private static final WriteBufferWaterMark SPLICE_WATER_MARK = new WriteBufferWaterMark(1, 1);

    private final StreamContext context;
    private final UpstreamSide upstreamSide = new UpstreamSide(this);
    private final Runnable idleCheck = this::checkIdle;
    private final ChannelFutureListener spliceEnded = this::spliceEnded;
    private final Runnable readClientTask = this::readClientNow;
    private final Runnable readUpstreamTask = this::readUpstreamNow;
    private final OutputProgress clientOutput = new OutputProgress();
    private final OutputProgress upstreamOutput = new OutputProgress();
    private ChannelHandlerContext ctx;
    private Channel client;
    private InetSocketAddress clientAddress;
    private String serverName;

    private UpstreamGroup group;
    private GroupLoop groupLoop;
    private long keyHash;
    private Backend backend;
    private int attempts;
    private long triedMask;
    private Channel upstream;
    private String upstreamAddrs;
    private long connectStartNanos;
    private long connectNanos = -1;

    private ArrayDeque<ByteBuf> pending;
    private boolean connected;
    private boolean splicing;
    private SpliceSizeEstimator toClient;
    private SpliceSizeEstimator toUpstream;
    private boolean clientInputShut;
    private boolean upstreamInputShut;
    /** A FIN has been sent to the client, whose own FIN then closes its channel (see shutdownOutput). */
    private boolean clientOutputShut;
    /** The same towards the backend. */
    private boolean upstreamOutputShut;
    private int outputsShut;
    /**
     * The client closed (half_close off) while the backend connect was under way, with bytes
     * pending: the relay lives on to deliver them once connected, then ends.
     */
    private boolean clientGone;
    private boolean finished;

    private long bytesFromClient;
    private long bytesFromUpstream;
    private long startNanos;
    private long startMillis;
    private long lastActivity;
    private ScheduledFuture<?> idleTimer;
    /** The side whose last bytes are still going out after the relay finished (closeAfterWrites), or null. */
    private Channel draining;
    /** The relay finished while {@link #draining}: its log line waits for the drain to end. */
    private boolean logAfterDrain;
    private String end;
    private int status;

    TcpRelay(StreamContext context) {
        this.context = context;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.client = ctx.channel();
        // The session starts at the accept: a PROXY header is read first, and a connection whose
        // header is refused never becomes active but is logged, with its peer and its own time.
        startNanos = System.nanoTime();
        lastActivity = startNanos;
        startMillis = System.currentTimeMillis();
        clientAddress = (InetSocketAddress) client.remoteAddress();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // A trusted PROXY header, read by now, names the client.
        clientAddress = ClientAddress.of(client);
        if (clientAddress != null && !context.access().permits(clientAddress.getAddress())) {
            // As nginx stream's deny: closed before a byte is relayed or a backend is dialled, logged 403.
            status = 403;
            end = "listener_access_denied";
            ctx.close();
            return;
        }
        context.lifecycle().connectionOpened(client);
        context.connectionOpened(client);
        context.stats().connectionAccepted();
        idleTimer = client.eventLoop().schedule(idleCheck, context.idleTimeoutNanos(), TimeUnit.NANOSECONDS);
        if (context.spliceable() && client instanceof EpollSocketChannel) {
            toClient = new SpliceSizeEstimator();
            client.config().setMessageSizeEstimator(toClient);
            client.config().setWriteBufferWaterMark(SPLICE_WATER_MARK);
            client.config().setOption(ChannelOption.SO_RCVBUF, SPLICE_RECEIVE_BUFFER);
        }
        // Reading now drives the TLS handshake or the ClientHello preread, or, for plain relays,
        // takes the client's first bytes while the backend connection opens.
        ctx.read();
        if (!context.sniRouting() && !context.terminatesTls()) {
            startUpstream(context.defaultGroup());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientInputShutdown();
        } else if (evt instanceof SniCompletionEvent sni && context.sniRouting()) {
            // (A terminating listener's own SNI certificate selection fires one too; that is not a route.)
            serverName = sni.hostname();
            if (!sni.isSuccess()) {
                abort(400, "preread_failed");
                return;
            }
            UpstreamGroup g = context.route(serverName);
            if (g == null) {
                abort(400, "no_sni_route");
                return;
            }
            startUpstream(g);
        } else if (evt instanceof SslHandshakeCompletionEvent handshake) {
            if (!handshake.isSuccess()) {
                abort(400, "tls_handshake_failed");
                return;
            }
            startUpstream(context.defaultGroup());
        } else if (evt == ProxyProtocolHandler.REJECTED) {
            context.stats().rejected();
            status = 403;
            end = "proxy_protocol_rejected";
        } else {
            ReferenceCountUtil.release(evt);
        }
    }

    // ---- picking and connecting a backend

    private void startUpstream(UpstreamGroup g) {
        group = g;
        groupLoop = g.forLoop(client.eventLoop());
        keyHash = context.hashKey(g).hash(clientAddress, serverName);
        groupLoop.onRequest();
        connectNext();
    }

    /** The balancer's filter: not tried yet, in rotation, not marked down, under its connection limit. */
    @Override
    public boolean test(Backend b) {
        int i = b.index();
        if (i < 64 && (triedMask & (1L << i)) != 0) {
            return false;
        }
        // Active checks and outlier ejection (inRotation) as for HTTP, then max_fails and max_connections.
        return groupLoop.inRotation(b) && !b.isDown() && !b.atConnectionLimit();
    }

    private void connectNext() {
        Backend b = groupLoop.pick(keyHash, this);
        if (b == null) {
            abort(attempts == 0 ? 503 : 502, attempts == 0 ? "no_backend" : end);
            return;
        }
        if (b.index() < 64) {
            triedMask |= 1L << b.index();
        }
        attempts++;
        backend = b;
        b.requestStarted();
        upstreamAddrs = upstreamAddrs == null ? b.key() : upstreamAddrs + ", " + b.key();
        connectStartNanos = System.nanoTime();
        ChannelFuture f = context.bootstrap(group, client.eventLoop()).connect(b.connectAddress());
        upstream = f.channel();
        if (toClient != null && upstream instanceof EpollSocketChannel) {
            toUpstream = new SpliceSizeEstimator();
            upstream.config().setMessageSizeEstimator(toUpstream);
            upstream.config().setWriteBufferWaterMark(SPLICE_WATER_MARK);
            upstream.config().setOption(ChannelOption.SO_RCVBUF, SPLICE_RECEIVE_BUFFER);
        }
        upstream.pipeline().addLast("relay", upstreamSide);
        f.addListener(this);
    }

    /** The backend connect finished. */
    @Override
    public void operationComplete(ChannelFuture f) {
        if (f.channel() != upstream) {
            return;
        }
        if (finished) {
            f.channel().close();
            return;
        }
        if (!f.isSuccess()) {
            connectFailed(f.cause());
            return;
        }
        backend.recordConnected();
        connectNanos = System.nanoTime() - connectStartNanos;
        connected = true;
        status = 200;
        ProxyProtocolVersion proxy = group.config().proxyProtocol();
        if (proxy != ProxyProtocolVersion.OFF) {
            upstream.write(ProxyHeaders.encode(proxy, clientAddress, ClientAddress.destinationOf(client), upstream.alloc()),
                    upstream.voidPromise());
        }
        if (pending != null) {
            ByteBuf buf;
            while ((buf = pending.poll()) != null) {
                upstream.write(buf, upstream.voidPromise());
            }
        }
        upstream.flush();
        if (clientGone) {
            context.stats().relayStarted(false);
            closeAfterWrites(upstream);
            finish();
            return;
        }
        splicing = toClient != null && toUpstream != null && SpliceSizeEstimator.available();
        context.stats().relayStarted(splicing);
        if (splicing) {
            // Queued after the bytes written above, so the backend sees them in order.
            ((EpollSocketChannel) client).spliceTo((EpollSocketChannel) upstream, Integer.MAX_VALUE).addListener(spliceEnded);
            ((EpollSocketChannel) upstream).spliceTo((EpollSocketChannel) client, Integer.MAX_VALUE).addListener(spliceEnded);
        }
        if (clientInputShut) {
            shutdownOutputAfterWrites(upstream);
        } else if (upstream.isWritable()) {
            readClient();
        }
        readUpstream();
    }

    private void connectFailed(Throwable cause) {
        long now = System.nanoTime();
        // For max_fails and, as for HTTP upstreams, for outlier detection's connect failures in a row.
        backend.recordConnectFailure(now, cause instanceof ConnectTimeoutException ? "connect timeout" : "connect refused");
        backend.requestEnded();
        backend = null;
        upstream = null;
        context.stats().connectFailed();
        status = 502;
        end = cause instanceof ConnectTimeoutException ? "upstream_connect_timeout"
                : cause instanceof ConnectException ? "upstream_connect_refused" : "upstream_connect_failed";
        if (attempts < group.config().retry().attempts() && (client.isActive() || clientGone) && groupLoop.tryRetry(now)) {
            connectNext();
        } else {
            abort(502, end);
        }
    }

    private void spliceEnded(ChannelFuture f) {
        // Splicing runs until a channel closes; any other end is an I/O error on one side.
        if (!f.isSuccess() && !finished && client.isActive() && upstream != null && upstream.isActive()) {
            end = "splice_error";
            closeBoth();
        }
    }

    // ---- client to backend

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf) || finished) {
            ReferenceCountUtil.release(msg);
            return;
        }
        bytesFromClient += buf.readableBytes();
        if (connected) {
            upstream.write(buf, upstream.voidPromise());
        } else {
            if (pending == null) {
                pending = new ArrayDeque<>(4);
            }
            pending.add(buf);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        lastActivity = System.nanoTime();
        if (!connected || finished) {
            return;
        }
        upstream.flush();
        if (upstream.isWritable() && !clientInputShut) {
            readClient();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        lastActivity = System.nanoTime();
        if (connected && client.isWritable() && !upstreamInputShut) {
            readUpstream();
        }
    }

    private void clientInputShutdown() {
        clientInputShut = true;
        if (connected) {
            shutdownOutputAfterWrites(upstream);
        } else if (upstream == null) {
            // Nothing to relay to yet (still reading the ClientHello or handshaking): nothing more will come.
            abort(400, "client_closed");
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!finished) {
            if (end == null) {
                // After our FIN the client's own FIN closes its channel (see shutdownOutput): a normal end.
                end = clientOutputShut ? "closed" : "client_closed";
            }
            if (upstream != null) {
                if (connected && (!context.halfClose() || clientOutputShut) && upstream.isActive()) {
                    // half_close off, or the client's FIN after ours: the client's direction ended
                    // the connection; deliver what it sent first.
                    closeAfterWrites(upstream);
                } else if (!connected && upstream.isOpen() && pending != null && !pending.isEmpty()) {
                    // With half_close off epoll reads up to the FIN before the backend is connected
                    // (NIO waits): the bytes read before it are still owed to the backend.
                    clientGone = true;
                    return;
                } else {
                    upstream.close();
                }
            }
            finish();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!finished && end == null) {
            end = cause instanceof IOException ? "client_reset" : "client_error";
        }
        closeBoth();
    }

    // ---- backend to client (called by UpstreamSide)

    void upstreamRead(Channel ch, Object msg) {
        if (ch != upstream || !(msg instanceof ByteBuf buf) || finished) {
            ReferenceCountUtil.release(msg);
            return;
        }
        bytesFromUpstream += buf.readableBytes();
        client.write(buf, client.voidPromise());
    }

    void upstreamReadComplete(Channel ch) {
        if (ch != upstream || finished) {
            return;
        }
        lastActivity = System.nanoTime();
        client.flush();
        if (client.isWritable() && !upstreamInputShut) {
            readUpstream();
        }
    }

    void upstreamWritabilityChanged(Channel ch) {
        lastActivity = System.nanoTime();
        if (ch == upstream && connected && ch.isWritable() && !clientInputShut) {
            readClient();
        }
    }

    void upstreamInputShutdown(Channel ch) {
        if (ch != upstream || finished) {
            return;
        }
        upstreamInputShut = true;
        shutdownOutputAfterWrites(client);
    }

    void upstreamInactive(Channel ch) {
        if (ch != upstream || finished || !connected) {
            return;
        }
        if (end == null) {
            // After our FIN (sent for the client's) the backend's own FIN closes its channel: a normal end.
            end = upstreamOutputShut || (upstreamInputShut && clientInputShut) ? "closed" : "upstream_closed";
        }
        // Deliver what the backend sent before it went away, then close.
        closeAfterWrites(client);
        finish();
    }

    void upstreamError(Channel ch, Throwable cause) {
        if (ch != upstream || finished) {
            return;
        }
        if (!connected) {
            // The connect future reports it.
            return;
        }
        if (end == null) {
            end = cause instanceof IOException ? "upstream_reset" : "upstream_error";
        }
        closeBoth();
    }

    /**
     * Asks for the client's next read. While splicing, Netty's epoll read handler clears the read
     * interest after the events it fires (read complete, writability of the other side) return, so
     * a read asked for inside them would be lost: it is asked for in a task after the handler.
     */
    private void readClient() {
        if (splicing) {
            client.eventLoop().execute(readClientTask);
        } else {
            ctx.read();
        }
    }

    private void readClientNow() {
        if (!finished && !clientInputShut) {
            ctx.read();
        }
    }

    private void readUpstreamNow() {
        if (!finished && !upstreamInputShut) {
            upstream.read();
        }
    }

    private void readUpstream() {
        if (splicing) {
            client.eventLoop().execute(readUpstreamTask);
        } else {
            upstream.read();
        }
    }

    // ---- ending

    /**
     * Closes {@code ch} once everything written to it before has gone out. The relay has finished,
     * but its idle timer watches {@code ch} until then, so a peer that stops reading is closed
     * after {@code idle_timeout} without progress instead of holding the socket for ever.
     */
    private void closeAfterWrites(Channel ch) {
        ChannelFuture written = ch.writeAndFlush(Unpooled.EMPTY_BUFFER);
        if (written.isDone()) {
            ch.close();
            return;
        }
        draining = ch;
        lastActivity = System.nanoTime();
        written.addListener(f -> {
            draining = null;
            idleTimer.cancel(false);
            ch.close();
            if (logAfterDrain) {
                // The session ends now, not when the relay finished: its log line says how the drain went.
                logAfterDrain = false;
                log();
            }
        });
    }

    /**
     * Sends the peer a FIN once everything written before it has gone out. When both directions
     * have ended this way, the connection is complete.
     */
    private void shutdownOutputAfterWrites(Channel ch) {
        SslHandler tls = ch.pipeline().get(SslHandler.class);
        if (tls != null) {
            // A TLS client learns the end of data from close_notify, which goes after everything before it.
            ch.flush();
            tls.closeOutbound().addListener(sent -> shutdownOutput(ch));
        } else {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
                if (written.isSuccess()) {
                    shutdownOutput(ch);
                }
            });
        }
    }

    private void shutdownOutput(Channel ch) {
        if (!ch.isActive() || !(ch instanceof DuplexChannel duplex)) {
            return;
        }
        if (ch == client ? clientInputShut : upstreamInputShut) {
            // This socket's peer has ended its direction too, and everything for it is written:
            // close() sends the same FIN. A shutdown() first would cost a system call, the
            // exception Netty makes for every output shutdown, and (when the peer has already
            // closed) a second one for ENOTCONN: about 5 % of the CPU of a short connection.
            if (++outputsShut == 2 && !finished) {
                end = "closed";
                closeBoth();
            } else {
                ch.close();
            }
            return;
        }
        // The peer's FIN, when it comes, ends the connection: with half-closure off for this socket
        // Netty closes it on that FIN rather than shutting its input first, which costs a system
        // call and, as our FIN has usually crossed the peer's by then (the socket is closed in
        // the kernel's eyes), an ENOTCONN exception. Its inactive event ends the relay. Not while
        // splicing: Netty moves a spliced socket's bytes through a pipe in that socket's own tasks,
        // and there the input shutdown is the path the splice tests cover.
        if (!splicing) {
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
            if (ch == client) {
                clientOutputShut = true;
            } else {
                upstreamOutputShut = true;
            }
        }
        duplex.shutdownOutput().addListener(shut -> {
            if (shut.isSuccess() && ++outputsShut == 2 && !finished) {
                end = "closed";
                closeBoth();
            }
        });
    }

    private void checkIdle() {
        if (finished && draining == null) {
            return;
        }
        long now = System.nanoTime();
        // Bytes leaving for a slow reader count as activity, as nginx's proxy_timeout counts writes.
        boolean moved = clientOutput.moved(client);
        moved |= upstreamOutput.moved(upstream);
        if (moved) {
            lastActivity = now;
        }
        long idleFor = now - lastActivity;
        long limit = context.idleTimeoutNanos();
        if (idleFor >= limit) {
            if (draining != null) {
                // The peer stopped taking the last bytes: that is how the session ends. What never
                // left Portico was not sent; the log counts bytes sent, as nginx's does (on io_uring
                // a write the kernel was still taking counts as not sent).
                end = "idle_timeout";
                long unsent = pendingBytes(draining);
                if (draining == client) {
                    bytesFromUpstream = Math.max(0, bytesFromUpstream - unsent);
                } else {
                    bytesFromClient = Math.max(0, bytesFromClient - unsent);
                }
            } else if (end == null) {
                end = "idle_timeout";
            }
            closeBoth();
        } else {
            idleTimer = client.eventLoop().schedule(idleCheck, limit - idleFor, TimeUnit.NANOSECONDS);
        }
    }

    private void abort(int status, String reason) {
        if (finished) {
            return;
        }
        this.status = status;
        end = reason;
        closeBoth();
        if (clientGone) {
            // The client's inactive event, which ends a relay, has already come.
            finish();
        }
    }

    private void closeBoth() {
        client.close();
        if (upstream != null) {
            upstream.close();
        }
    }

    private void finish() {
        finished = true;
        if (idleTimer != null && draining == null) {
            idleTimer.cancel(false);
        }
        if (pending != null) {
            ByteBuf buf;
            while ((buf = pending.poll()) != null) {
                buf.release();
            }
        }
        if (backend != null) {
            backend.requestEnded();
            backend = null;
        }
        if (splicing) {
            bytesFromClient += toUpstream.splicedBytes();
            bytesFromUpstream += toClient.splicedBytes();
        }
        if (draining != null) {
            logAfterDrain = true;
        } else {
            log();
        }
    }

    private void log() {
        context.log(clientAddress, startMillis, System.nanoTime() - startNanos, status == 0 ? 200 : status,
                bytesFromUpstream, bytesFromClient, upstreamAddrs, connectNanos, serverName, splicing, end);
    }

    /**
     * Bytes of data still in {@code ch}'s output buffer (a partly written buffer counts what is
     * left of it; Netty's own total adds a per-entry overhead and counts such a buffer whole).
     */
    private static long pendingBytes(Channel ch) {
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        if (out == null) {
            return 0;
        }
        long[] left = {0};
        try {
            out.forEachFlushedMessage(msg -> {
                if (msg instanceof ByteBuf buf) {
                    left[0] += buf.readableBytes();
                }
                return true;
            });
        } catch (Exception e) {
            return 0;
        }
        return left[0];
    }
}
