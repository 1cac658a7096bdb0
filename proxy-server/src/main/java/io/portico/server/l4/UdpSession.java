package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.server.upstream.Backend;
import io.portico.server.upstream.GroupLoop;
import io.portico.server.upstream.UpstreamGroup;

import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One client address of a UDP listener and the backend socket relaying for it, both on the
 * listening socket's event loop. Datagrams that arrive while the backend socket is still being
 * set up wait (up to {@value #MAX_PENDING}; more are dropped, as a full socket buffer would). The
 * session ends after {@code stream.idle_timeout} without a datagram either way, or when the
 * member answers with ICMP port unreachable, which also counts against it (passive health).
 */
final class UdpSession extends ChannelInboundHandlerAdapter implements ChannelFutureListener, Predicate<Backend> {

    private static final int MAX_PENDING = 64;

    private final UdpRelay relay;
    private final StreamContext context;
    private final InetSocketAddress client;
    private final Runnable idleCheck = this::checkIdle;
    private GroupLoop groupLoop;
    private Backend backend;
    private Channel upstream;
    private ArrayDeque<ByteBuf> pending;
    private boolean connected;
    private boolean answered;
    private boolean closed;
    private long bytesFromClient;
    private long bytesToClient;
    private final long startNanos = System.nanoTime();
    private final long startMillis = System.currentTimeMillis();
    private long lastActivity = startNanos;
    private ScheduledFuture<?> idleTimer;
    private int status = 200;

    UdpSession(UdpRelay relay, StreamContext context, InetSocketAddress client) {
        this.relay = relay;
        this.context = context;
        this.client = client;
    }

    InetSocketAddress client() {
        return client;
    }

    /** The context this session was opened with, for its whole life. */
    StreamContext context() {
        return context;
    }

    /** Picks a member and opens the backend socket; false when none is available (the session is then over). */
    boolean open() {
        context.stats().connectionAccepted();
        UpstreamGroup group = context.defaultGroup();
        Channel listener = relay.listenerChannel();
        GroupLoop loop = group.forLoop(listener.eventLoop());
        groupLoop = loop;
        loop.onRequest();
        backend = loop.pick(context.hashKey(group).hash(client, null), this);
        if (backend == null) {
            status = 503;
            close("no_backend");
            return false;
        }
        backend.requestStarted();
        idleTimer = listener.eventLoop().schedule(idleCheck, context.idleTimeoutNanos(), TimeUnit.NANOSECONDS);
        ChannelFuture f = context.bootstrap(group, listener.eventLoop()).connect(backend.connectAddress());
        upstream = f.channel();
        upstream.pipeline().addLast("session", this);
        f.addListener(this);
        return true;
    }

    @Override
    public boolean test(Backend b) {
        // Active checks and outlier ejection (inRotation) as for HTTP, then max_fails and max_connections.
        return groupLoop.inRotation(b) && !b.isDown() && !b.atConnectionLimit();
    }

    /** A datagram from the client; this session owns {@code content} from now on. */
    void fromClient(ByteBuf content) {
        if (closed) {
            content.release();
            return;
        }
        lastActivity = System.nanoTime();
        bytesFromClient += content.readableBytes();
        if (connected) {
            upstream.writeAndFlush(content, upstream.voidPromise());
            return;
        }
        if (pending == null) {
            pending = new ArrayDeque<>(4);
        }
        if (pending.size() >= MAX_PENDING) {
            content.release();
            return;
        }
        pending.add(content);
    }

    /** The backend socket is bound and connected (for UDP, a local operation). */
    @Override
    public void operationComplete(ChannelFuture f) {
        if (closed) {
            f.channel().close();
            return;
        }
        if (!f.isSuccess()) {
            backend.recordFailure(System.nanoTime());
            context.stats().connectFailed();
            status = 502;
            close("upstream_connect_failed");
            return;
        }
        connected = true;
        if (pending != null) {
            ByteBuf buf;
            while ((buf = pending.poll()) != null) {
                upstream.write(buf, upstream.voidPromise());
            }
            upstream.flush();
        }
    }

    /** A reply from the member. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closed || !(msg instanceof DatagramPacket packet)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!answered) {
            answered = true;
            backend.recordSuccess();
        }
        lastActivity = System.nanoTime();
        bytesToClient += packet.content().readableBytes();
        relay.toClient(client, packet.content());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof PortUnreachableException) {
            backend.recordFailure(System.nanoTime());
            status = 502;
            close("upstream_unreachable");
        } else {
            close("upstream_error");
        }
    }

    private void checkIdle() {
        if (closed) {
            return;
        }
        long idleFor = System.nanoTime() - lastActivity;
        long limit = context.idleTimeoutNanos();
        if (idleFor >= limit) {
            close("idle_timeout");
        } else {
            idleTimer = relay.listenerChannel().eventLoop().schedule(idleCheck, limit - idleFor, TimeUnit.NANOSECONDS);
        }
    }

    void close(String end) {
        if (closed) {
            return;
        }
        closed = true;
        if (idleTimer != null) {
            idleTimer.cancel(false);
        }
        if (pending != null) {
            ByteBuf buf;
            while ((buf = pending.poll()) != null) {
                buf.release();
            }
        }
        if (upstream != null) {
            upstream.close();
        }
        if (backend != null) {
            backend.requestEnded();
        }
        relay.ended(this);
        context.log(client, startMillis, System.nanoTime() - startNanos, status, bytesToClient, bytesFromClient,
                backend == null ? null : backend.key(), -1, null, false, end);
    }
}
