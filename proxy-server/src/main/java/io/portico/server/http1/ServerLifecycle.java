package io.portico.server.http1;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.portico.server.limits.ReadGate;
import io.portico.websocket.WebSocketRelay;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * What a graceful shutdown needs to see across all listeners: the open client connections, the
 * requests in flight, and whether draining has begun (responses then carry {@code Connection: close}).
 */
public final class ServerLifecycle {

    /**
     * Fired on every client channel (and a WebSocket's upstream channel) when draining starts:
     * idle connections close at once, WebSocket relays say 1001 Going Away to both ends.
     */
    public static final Object DRAIN = WebSocketRelay.GOING_AWAY;

    /**
     * Fired on the client connections of a listener context a reload replaced: a keep-alive
     * connection finishes the request in progress and closes (an idle one closes now), an HTTP/2
     * connection drains with GOAWAY, so that clients come back on the new config and the replaced
     * generation can close. WebSocket relays ignore it: a reload never closes a WebSocket.
     */
    public static final Object RETIRE = new Object() {
        @Override
        public String toString() {
            return "RETIRE";
        }
    };

    /**
     * Fired on every connection just before {@link #closeAll} closes it, and on a listener's QUIC
     * connections before their UDP side closes: a connection with last words to say says them (a
     * QUIC connection closes with an HTTP/3 code, H3_NO_ERROR when idle and H3_INTERNAL_ERROR when
     * streams are cut, rather than QUIC's default application code 0, which HTTP/3 does not
     * define); the others pass it by.
     */
    public static final Object CLOSE_NOW = new Object() {
        @Override
        public String toString() {
            return "CLOSE_NOW";
        }
    };

    /** What a connection opened with {@link #connectionOpened(Channel)} belongs to: no listener. */
    private static final Object NO_LISTENER = new Object();

    /**
     * Every open connection, with its first handler (a client connection's {@link ClientTrafficHandler},
     * which knows the listener context it was accepted with) or {@link #NO_LISTENER}. One map entry
     * per connection, shared by shutdown, each listener's drain and count, and the buffer budget's
     * sampler: two Netty channel groups and the budget's own set cost an idle connection three
     * entries and an extra listener list.
     */
    private final Map<Channel, Object> clients = new ConcurrentHashMap<>();
    private final ChannelFutureListener onClose = f -> clients.remove(f.channel());
    /** The budget gates of open HTTP/3 request streams (see {@link #streamGateOpened}). */
    private final Set<ReadGate> streamGates = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder parked = new LongAdder();
    private volatile boolean draining;

    /** Counts {@code ch} among the connections that shutdown drains and closes. */
    public void connectionOpened(Channel ch) {
        clients.put(ch, NO_LISTENER);
        ch.closeFuture().addListener(onClose);
    }

    /**
     * A client connection, reported by its first handler: shutdown, the drain of the listener it was
     * accepted on and the buffer budget see it until {@link #connectionClosed}. The handler reports
     * both ends, so the connection needs no close listener of its own here (the listener gate's is
     * then its only one: one object fewer).
     */
    void connectionOpened(Channel ch, ClientTrafficHandler first) {
        first.context().connectionCounted();
        clients.put(ch, first);
    }

    /** The end of a connection opened with {@link #connectionOpened(Channel, ClientTrafficHandler)}; once only. */
    void connectionClosed(Channel ch) {
        if (clients.remove(ch) instanceof ClientTrafficHandler first) {
            first.context().connectionClosed();
        }
    }

    /**
     * The budget gates of the open client connections and HTTP/3 request streams: a live view,
     * read by the budget's sampler.
     */
    public Iterable<ReadGate> gates() {
        return () -> Stream.concat(clients.values().stream()
                        .filter(ReadGate.class::isInstance)
                        .map(ReadGate.class::cast), streamGates.stream())
                .iterator();
    }

    /**
     * An HTTP/3 request stream's budget gate, until {@link #streamGateClosed}: the budget counts
     * what the stream holds and holds its reads under pressure, as a TCP connection's. (Streams
     * are not connections: shutdown and drains reach them through their QUIC connection.)
     */
    public void streamGateOpened(ReadGate gate) {
        streamGates.add(gate);
    }

    public void streamGateClosed(ReadGate gate) {
        streamGates.remove(gate);
    }

    void requestStarted() {
        inFlight.incrementAndGet();
    }

    void requestEnded() {
        inFlight.decrementAndGet();
    }

    public boolean draining() {
        return draining;
    }

    /** Starts draining: new responses close their connection, idle connections close now. */
    public void startDraining() {
        draining = true;
        for (Channel ch : clients.keySet()) {
            ch.pipeline().fireUserEventTriggered(DRAIN);
        }
    }

    /**
     * Fires {@code event} on the connections accepted with {@code context}: {@link #DRAIN} when its
     * listener was removed, {@link #RETIRE} when a reload replaced it.
     */
    void fire(ListenerContext context, Object event) {
        clients.forEach((ch, owner) -> {
            if (owner instanceof ClientTrafficHandler first && first.context() == context) {
                ch.pipeline().fireUserEventTriggered(event);
            }
        });
    }

    public int inFlight() {
        return inFlight.get();
    }

    void parked(int delta) {
        parked.add(delta);
    }

    /**
     * Keep-alive connections idle long enough that their HTTP/1.1 parser was put away until their
     * next request (nginx's "waiting" connections, minus the ones between two quick requests).
     */
    public long parkedConnections() {
        return parked.sum();
    }

    public int openConnections() {
        return clients.size();
    }

    /** Closes every client connection that is still open. */
    public void closeAll() {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel ch : clients.keySet()) {
            // Queued behind the event on the connection's loop, the close finds a connection that
            // said its last words already closing.
            ch.pipeline().fireUserEventTriggered(CLOSE_NOW);
            closing.add(ch.close());
        }
        for (ChannelFuture f : closing) {
            f.awaitUninterruptibly();
        }
    }
}
