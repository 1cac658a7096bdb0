package io.portico.server.config;

import io.portico.http.CidrSet;

import java.util.List;

/**
 * Accepting the PROXY protocol (v1 or v2, told apart by its signature) from load balancers in
 * front of Portico, as HAProxy's {@code accept-proxy} with nginx's {@code set_real_ip_from}.
 * A connection from a trusted address must start with a header, and the address it carries
 * becomes the client's for logs, forwarding headers and hashing; a connection from anyone else
 * that starts with a header is closed, so nobody can claim another address.
 *
 * @param accept   expect the header on this listener
 * @param trusted  CIDRs of the peers allowed to send it (0.0.0.0/0 and ::/0 trust everyone)
 */
public record ProxyProtocolListenerConfig(
        @Default("false") boolean accept,
        List<String> trusted) {

    public ProxyProtocolListenerConfig {
        trusted = List.copyOf(trusted);
        if (accept && trusted.isEmpty()) {
            throw new InvalidConfigException("trusted",
                    "list the addresses of the load balancers that send the header (0.0.0.0/0 trusts everyone)");
        }
        for (int i = 0; i < trusted.size(); i++) {
            try {
                CidrSet.parse(List.of(trusted.get(i)));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigException("trusted[" + i + "]", e.getMessage());
            }
        }
    }
}
