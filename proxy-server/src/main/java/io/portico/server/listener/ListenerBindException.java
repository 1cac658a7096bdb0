package io.portico.server.listener;

import io.portico.server.config.HostPort;

import java.net.InetSocketAddress;

/** A listener could not bind its address at startup (address in use, permission denied, ...). */
public final class ListenerBindException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ListenerBindException(String listener, InetSocketAddress address, Throwable cause) {
        super("listener " + listener + ": cannot bind " + new HostPort(address.getHostString(), address.getPort())
                + ": " + reason(address, cause), cause);
    }

    /** Why, in words: some of the JDK's exceptions (an address that did not resolve) carry no message. */
    public static String reason(InetSocketAddress address, Throwable cause) {
        if (address.isUnresolved() || cause instanceof java.nio.channels.UnresolvedAddressException) {
            return "host not found: " + address.getHostString();
        }
        String message = cause.getMessage();
        return message != null ? message : cause.getClass().getSimpleName();
    }
}
