package io.portico.server.upstream;

import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.portico.server.config.HostPort;
import io.portico.server.config.ResolverConfig;
import io.portico.server.listener.Transport;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the DNS resolver group that upstream bootstraps resolve backend names with. Its cache is
 * shared by every event loop and honours the records' TTL within the configured bounds; a
 * connection to a name whose entry is fresh resolves without a query.
 */
public final class UpstreamResolver {

    private UpstreamResolver() {
    }

    /** A resolver group for {@code config}, on the transport's datagram and socket channels. */
    public static DnsAddressResolverGroup create(ResolverConfig config, Transport transport) {
        DnsNameResolverBuilder builder = new DnsNameResolverBuilder()
                .datagramChannelType(transport.datagramChannelClass())
                .socketChannelType(transport.socketChannelClass())
                .queryTimeoutMillis(config.timeout().toMillis())
                .ttl(config.minTtlSeconds(), config.maxTtlSeconds())
                .negativeTtl(config.negativeTtlSeconds())
                .resolvedAddressTypes(config.ipv6() ? ResolvedAddressTypes.IPV4_PREFERRED : ResolvedAddressTypes.IPV4_ONLY);
        if (!config.nameservers().isEmpty()) {
            List<InetSocketAddress> servers = new ArrayList<>(config.nameservers().size());
            for (HostPort ns : config.nameservers()) {
                servers.add(ns.toResolved());
            }
            // Explicit servers replace resolv.conf whole: its search list would turn one lookup of
            // an unknown name into several, against servers that were not chosen for them.
            builder.nameServerProvider(new SequentialDnsServerAddressStreamProvider(servers))
                    .searchDomains(List.of())
                    .ndots(1);
        }
        return new DnsAddressResolverGroup(builder);
    }
}
