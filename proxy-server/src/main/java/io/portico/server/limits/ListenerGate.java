package io.portico.server.limits;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The accepting side of one listener: sits on its server channels and sees each accepted
 * connection before the bootstrap sets it up.
 *
 * <ul>
 *   <li>At the listener's cap (or the global one) the server channels stop reading, so the kernel
 *       keeps new clients in the backlog instead of Portico accepting and dropping them (HAProxy
 *       {@code maxconn}); they read again as soon as a connection closes below the cap. A
 *       connection accepted in the same batch as the one that reached the cap is closed.</li>
 *   <li>Over the per-address cap a new connection is closed at once (nginx {@code limit_conn}).</li>
 * </ul>
 *
 * Shared by the server channels of one listener (one per event loop with {@code reuse_port}), and
 * kept by the listener across reloads, those that bind its sockets again included: a reload gives
 * it new caps ({@link #caps}) and it keeps counting the connections already open, which stay open.
 */
@ChannelHandler.Sharable
public final class ListenerGate extends ChannelInboundHandlerAdapter {

    private final ConnectionLimits global;
    private final String listener;
    /** 0 for none; set again by a reload. */
    private volatile int maxConnections;
    /** 0 for none; set again by a reload. */
    private volatile int maxPerIp;
    private final AtomicInteger open = new AtomicInteger();
    /**
     * Open connections per client address, counted whether or not a per-address cap is set, so
     * that a reload setting one finds the connections already open (and a connection gives back
     * only what it took, whichever caps were in force when it was accepted).
     */
    private final PerAddressCount perIp = new PerAddressCount();
    private final List<Channel> serverChannels = new CopyOnWriteArrayList<>();
    /**
     * Whether accepting is paused: changed, with the server channels' auto-read, only under this
     * gate's lock, so that a pause and a resume on two threads (event loops, or a reload giving new
     * caps), or a server channel a reload adds, cannot leave the flag and the channels disagreeing.
     */
    private volatile boolean paused;
    private final LongAdder refusedAtCap = new LongAdder();
    private final LongAdder refusedPerIp = new LongAdder();
    private final LongAdder pauses = new LongAdder();

    /**
     * When a connection closes: one listener for all of them, rather than one object per
     * connection. The address was read (and so cached by the channel) at accept.
     */
    private final ChannelFutureListener release =
            f -> leave(f.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null);

    ListenerGate(ConnectionLimits global, String listener, int maxConnections, int maxPerIp) {
        this.global = global;
        this.listener = listener;
        this.maxConnections = maxConnections;
        this.maxPerIp = maxPerIp;
    }

    /**
     * Sets the caps a reload gives the listener; the connections open now stay open and go on
     * counting. Lowered to or under the open count, accepting pauses until a connection closes
     * below it; raised over it, a paused listener accepts again (its clients waiting in the backlog
     * first).
     *
     * @param maxConnections 0 for none
     * @param maxPerIp       0 for none
     */
    public void caps(int maxConnections, int maxPerIp) {
        this.maxConnections = maxConnections;
        this.maxPerIp = maxPerIp;
        if (atCap()) {
            pause();
        } else {
            maybeResume();
        }
    }

    /** The listener's {@code limits.max_connections} in force (0: none). */
    public int maxConnections() {
        return maxConnections;
    }

    /** The listener's {@code limits.max_connections_per_ip} in force (0: none). */
    public int maxConnectionsPerIp() {
        return maxPerIp;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        synchronized (this) {
            serverChannels.add(ctx.channel());
            // Sockets a reload binds for a listener at its cap start paused.
            if (paused) {
                ctx.channel().config().setAutoRead(false);
            }
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        serverChannels.remove(ctx.channel());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Channel child)) {
            ctx.fireChannelRead(msg);
            return;
        }
        InetAddress ip = child.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
        if (!admit(ip)) {
            child.unsafe().closeForcibly();
            return;
        }
        child.closeFuture().addListener(release);
        ctx.fireChannelRead(child);
    }

    /**
     * Takes a connection's place under the listener's caps, the global one and the per-address one,
     * or counts it refused. Accepted TCP connections come through here, and QUIC connections (HTTP/3
     * on the listener's UDP side) once their handshake is done: one {@code max_connections} for the
     * listener, whichever transport a client comes on. Reaching a cap pauses accepting on TCP.
     *
     * @param ip the client's address, or null when unknown (then only the counts apply)
     * @return false when over a cap: the caller closes the connection and must not {@link #leave}
     */
    public boolean admit(InetAddress ip) {
        if (!global.tryAcquire()) {
            refusedAtCap.increment();
            global.pauseAll();
            return false;
        }
        if (!tryAcquire()) {
            global.release();
            refusedAtCap.increment();
            pause();
            return false;
        }
        if (ip != null && !perIp.acquire(ip, maxPerIp)) {
            releaseOne();
            refusedPerIp.increment();
            return false;
        }
        if (atCap() || global.full()) {
            // Stop before the next accept rather than accept and drop it.
            if (global.full()) {
                global.pauseAll();
            } else {
                pause();
            }
        }
        return true;
    }

    /** A connection {@link #admit} took in has closed; {@code ip} as given to it. */
    public void leave(InetAddress ip) {
        if (ip != null) {
            perIp.release(ip);
        }
        releaseOne();
    }

    private boolean tryAcquire() {
        int max = maxConnections;
        if (max <= 0) {
            open.incrementAndGet();
            return true;
        }
        while (true) {
            int n = open.get();
            if (n >= max) {
                return false;
            }
            if (open.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }


    private boolean atCap() {
        int max = maxConnections;
        return max > 0 && open.get() >= max;
    }

    private void releaseOne() {
        open.decrementAndGet();
        global.release();
        maybeResume();
    }

    void pause() {
        if (paused) {
            return;
        }
        synchronized (this) {
            if (paused) {
                return;
            }
            paused = true;
            pauses.increment();
            for (Channel ch : serverChannels) {
                ch.config().setAutoRead(false);
            }
        }
        // A connection may have closed between the check and the pause.
        maybeResume();
    }

    void maybeResume() {
        if (!paused || atCap() || global.full()) {
            return;
        }
        synchronized (this) {
            if (!paused || atCap() || global.full()) {
                return;
            }
            paused = false;
            for (Channel ch : serverChannels) {
                ch.config().setAutoRead(true);
            }
        }
    }

    public String listener() {
        return listener;
    }

    /** Open client connections on this listener. */
    public int open() {
        return open.get();
    }

    /** Whether accepting is paused now. */
    public boolean paused() {
        return paused;
    }

    /** Times accepting was paused at a cap. */
    public long pauses() {
        return pauses.sum();
    }

    /** Connections accepted over a cap in the same batch as the one that reached it, and closed. */
    public long refusedAtCap() {
        return refusedAtCap.sum();
    }

    /** Connections closed at once for being over {@code max_connections_per_ip}. */
    public long refusedPerIp() {
        return refusedPerIp.sum();
    }
}
