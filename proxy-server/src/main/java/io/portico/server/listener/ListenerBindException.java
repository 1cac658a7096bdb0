package io.portico.server.listener;

import io.portico.server.config.HostPort;

import java.net.InetSocketAddress;

/** A listener could not bind its address at startup (address in use, permission denied, ...). */
public final class ListenerBindException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ListenerBindException(String listener, InetSocketAddress address, Throwable cause) {
        super("listener " + listener + ": cannot bind " + new HostPort(address.getHostString(), address.getPort())
                + ": " + cause.getMessage(), cause);
    }
}
