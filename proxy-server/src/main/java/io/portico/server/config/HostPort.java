package io.portico.server.config;

import io.netty.util.NetUtil;
import java.net.InetSocketAddress;

/**
 * An address as written in config: {@code host:port}, {@code [v6]:port}, {@code :port} or
 * {@code *:port} (all interfaces). The host may be a name, resolved when it is used.
 */
public record HostPort(String host, int port) {

    public HostPort {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("missing host");
        }
    }

    public static HostPort parse(String text) {
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected host:port, got '" + text + "'");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("write an IPv6 address in brackets, as [::1]:8080, got '" + text + "'");
        }
        if (host.isEmpty() || host.equals("*")) {
            host = "0.0.0.0";
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected host:port with a numeric port, got '" + text + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got '" + text + "'");
        }
        return new HostPort(host, port);
    }

    /** Whether {@code host} is an IP address literal rather than a name. */
    public static boolean isLiteral(String host) {
        return NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
    }

    /** An unresolved socket address; resolution happens where it is used (DNS for upstreams). */
    public InetSocketAddress toUnresolved() {
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** A socket address resolved now; only for literal IPs and bind addresses. */
    public InetSocketAddress toResolved() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
