package io.portico.server.l4;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

import java.net.InetSocketAddress;

/**
 * The client's address as Portico should use it: the one a trusted PROXY protocol header carried,
 * or the socket's peer. Logs, forwarding headers, hashing and outgoing PROXY headers read it here.
 */
public final class ClientAddress {

    /** Set by {@link ProxyProtocolHandler} when a trusted peer sent a header with addresses. */
    static final AttributeKey<InetSocketAddress> SOURCE = AttributeKey.valueOf("portico.proxied.source");
    static final AttributeKey<InetSocketAddress> DESTINATION = AttributeKey.valueOf("portico.proxied.destination");

    private ClientAddress() {
    }

    /** The client's address: from the PROXY header when one was accepted, else the peer's. */
    public static InetSocketAddress of(Channel ch) {
        // hasAttr first: attr() would give every connection an empty attribute to hold.
        InetSocketAddress proxied = ch.hasAttr(SOURCE) ? ch.attr(SOURCE).get() : null;
        return proxied != null ? proxied : (InetSocketAddress) ch.remoteAddress();
    }

    /**
     * Records the addresses of a channel whose own are not socket addresses (an HTTP/3 stream, whose
     * peer is a QUIC connection), so that logs, forwarding headers and hashing see the client's.
     */
    public static void remember(Channel ch, InetSocketAddress source, InetSocketAddress destination) {
        ch.attr(SOURCE).set(source);
        ch.attr(DESTINATION).set(destination);
    }

    /** The address the client connected to: from the PROXY header when one was accepted, else this socket's. */
    public static InetSocketAddress destinationOf(Channel ch) {
        InetSocketAddress proxied = ch.hasAttr(DESTINATION) ? ch.attr(DESTINATION).get() : null;
        return proxied != null ? proxied : (InetSocketAddress) ch.localAddress();
    }
}
