package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The handler of one listening socket of a {@code protocol: udp} listener (one per event loop with
 * {@code reuse_port}). Each client address is a session with its own backend socket, connected to
 * one member picked by the group's balancer, on this socket's event loop; replies from that socket
 * go back to the client from the listening address. Only this loop touches the session table, so
 * it is a plain map. Datagrams from a new client beyond {@code stream.max_sessions} are dropped and
 * counted, as a full table drops them in LVS; so are datagrams from a new client that the
 * listener's {@code limits.access} CIDR rules refuse (nginx stream's {@code deny} for UDP).
 *
 * <p>A new session takes the listener's context of the moment (a reload swaps it) and keeps it.
 * While the listener drains (removed by a reload, or the server shutting down) there is no
 * context: new clients are dropped and established sessions carry on until they end or the
 * socket closes.
 */
final class UdpRelay extends ChannelInboundHandlerAdapter {

    private final String name;
    private final Supplier<StreamContext> contexts;
    private final Map<InetSocketAddress, UdpSession> sessions = new HashMap<>();
    private Channel listener;

    UdpRelay(String name, Supplier<StreamContext> contexts) {
        this.name = name;
        this.contexts = contexts;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        listener = ctx.channel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        InetSocketAddress client = packet.sender();
        UdpSession session = sessions.get(client);
        if (session == null) {
            StreamContext context = contexts.get();
            if (context == null) {
                packet.release();
                return;
            }
            if (!context.access().permits(client.getAddress()) || !context.acquireSession()) {
                context.stats().rejected();
                packet.release();
                return;
            }
            session = new UdpSession(this, context, client);
            sessions.put(client, session);
            if (!session.open()) {
                // No member to send it to (the session has already ended and been logged).
                packet.release();
                return;
            }
        }
        session.fromClient(packet.content());
    }

    /** Sends a backend's reply to the client from the listening socket. */
    void toClient(InetSocketAddress client, ByteBuf content) {
        listener.writeAndFlush(new DatagramPacket(content, client), listener.voidPromise());
    }

    /** Called by a session once it has ended. */
    void ended(UdpSession session) {
        if (sessions.remove(session.client(), session)) {
            session.context().releaseSession();
        }
    }

    Channel listenerChannel() {
        return listener;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (UdpSession s : sessions.values().toArray(new UdpSession[0])) {
            s.close("listener_closed");
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A send to a client that went away (ICMP unreachable) must not stop the listener.
        System.getLogger("portico").log(System.Logger.Level.DEBUG, "udp listener " + name + ": " + cause);
    }
}
