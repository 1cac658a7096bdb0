package io.portico.server.l4;

import io.netty.util.NetUtil;
import io.portico.server.config.BalanceAlgorithm;
import io.portico.server.upstream.UpstreamGroup;
import io.portico.server.upstream.balance.HashKeys;

import java.net.InetSocketAddress;

/**
 * The consistent-hash key of a connection on a stream listener. There is no request at layer 4,
 * so a group hashed by {@code client_ip} maps each client address to one backend (LVS {@code sh}),
 * and {@code host} hashes the SNI name read from the ClientHello; other keys are refused at startup.
 */
enum StreamHashKey {
    NONE, CLIENT_IP, SNI;

    static StreamHashKey of(UpstreamGroup group, String listener) {
        if (group.config().balance() != BalanceAlgorithm.CONSISTENT_HASH) {
            return NONE;
        }
        String key = group.config().hash().key();
        switch (key) {
            case "client_ip":
                return CLIENT_IP;
            case "host":
                return SNI;
            default:
                throw new IllegalStateException("listener " + listener + ": upstream group " + group.name()
                        + " hashes on '" + key + "', which a stream listener does not have; use hash.key client_ip"
                        + " (or host, the TLS server name, with sni_routes)");
        }
    }

    long hash(InetSocketAddress client, String serverName) {
        switch (this) {
            case CLIENT_IP:
                return client == null || client.getAddress() == null ? 0
                        : HashKeys.hash(NetUtil.toAddressString(client.getAddress()));
            case SNI:
                return HashKeys.hash(serverName == null ? "" : serverName);
            default:
                return 0;
        }
    }
}
