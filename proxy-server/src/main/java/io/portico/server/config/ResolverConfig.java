package io.portico.server.config;

import io.netty.util.NetUtil;

import java.time.Duration;
import java.util.List;

/**
 * The asynchronous DNS resolver that turns upstream host names into addresses. Answers are cached
 * for their records' TTL (bounded by {@code minTtl} and {@code maxTtl}), so a backend whose name
 * moves is followed once the TTL runs out.
 *
 * @param nameservers  DNS servers ({@code ip:port}) asked in order, the next one when a query times
 *                     out; empty means those of {@code /etc/resolv.conf}, with its search domains
 *                     and {@code ndots}. When given, resolv.conf is not read at all: names are
 *                     looked up exactly as written (nginx's {@code resolver} behaves the same way)
 * @param timeout      how long one query waits for an answer before the next server is asked
 * @param minTtl       shortest time an answer is cached, whatever its TTL says
 * @param maxTtl       longest time an answer is cached; 0s means the records' TTL, uncapped
 * @param negativeTtl  how long a name that did not resolve stays failed before it is asked again;
 *                     nginx caches errors for 10s too. 0s asks again on every new connection
 * @param ipv6         also ask for AAAA records; an IPv4 address still wins when a name has both,
 *                     and IPv6 is used for names that only have AAAA. Off by default (unlike
 *                     nginx's {@code ipv6=on}): one query per refresh instead of two, and no wait
 *                     on DNS servers that drop AAAA queries
 */
public record ResolverConfig(
        List<HostPort> nameservers,
        @Default("5s") Duration timeout,
        @Default("0s") Duration minTtl,
        @Default("0s") Duration maxTtl,
        @Default("10s") Duration negativeTtl,
        @Default("false") boolean ipv6) {

    public ResolverConfig {
        nameservers = List.copyOf(nameservers);
        for (int i = 0; i < nameservers.size(); i++) {
            HostPort ns = nameservers.get(i);
            if (!NetUtil.isValidIpV4Address(ns.host()) && !NetUtil.isValidIpV6Address(ns.host())) {
                throw new InvalidConfigException("nameservers[" + i + "]",
                        "must be an IP address and port (a resolver cannot be found by name), got " + ns);
            }
            if (ns.port() == 0) {
                throw new InvalidConfigException("nameservers[" + i + "]", "needs a port, usually 53, got " + ns);
            }
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new InvalidConfigException("timeout", "must be positive");
        }
        checkSeconds("min_ttl", minTtl);
        checkSeconds("max_ttl", maxTtl);
        checkSeconds("negative_ttl", negativeTtl);
        if (!maxTtl.isZero() && minTtl.compareTo(maxTtl) > 0) {
            throw new InvalidConfigException("min_ttl", "cannot be longer than max_ttl (" + maxTtl.getSeconds() + "s)");
        }
    }

    /** DNS TTLs are whole seconds; a fraction would be silently rounded, so it is refused. */
    private static void checkSeconds(String key, Duration ttl) {
        if (ttl.isNegative()) {
            throw new InvalidConfigException(key, "cannot be negative");
        }
        if (ttl.toNanosPart() != 0) {
            throw new InvalidConfigException(key, "must be whole seconds (DNS TTLs are), got " + ttl.toMillis() + "ms");
        }
        if (ttl.getSeconds() > Integer.MAX_VALUE) {
            throw new InvalidConfigException(key, "is too long");
        }
    }

    /** Shortest cache time in seconds. */
    public int minTtlSeconds() {
        return (int) minTtl.getSeconds();
    }

    /** Longest cache time in seconds; {@link Integer#MAX_VALUE} when the records' TTL is not capped. */
    public int maxTtlSeconds() {
        return maxTtl.isZero() ? Integer.MAX_VALUE : (int) maxTtl.getSeconds();
    }

    /** Negative cache time in seconds; 0 turns negative caching off. */
    public int negativeTtlSeconds() {
        return (int) negativeTtl.getSeconds();
    }
}
