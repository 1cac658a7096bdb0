package io.portico.server.config;

import io.portico.http.CidrSet;

import java.util.List;

/**
 * What Portico tells upstreams about the client.
 *
 * @param trustedProxies   CIDRs whose X-Forwarded-* and Forwarded headers are kept and extended;
 *                         from anyone else they are replaced (nginx {@code set_real_ip_from})
 * @param xForwarded       send X-Forwarded-For, -Proto and -Host
 * @param forwarded        send Forwarded (RFC 7239)
 * @param via              add {@code Via: 1.1 portico} to requests and responses
 * @param requestIdHeader  the request id header, propagated when valid, generated otherwise
 */
public record ForwardingConfig(
        List<String> trustedProxies,
        @Default("true") boolean xForwarded,
        @Default("true") boolean forwarded,
        @Default("true") boolean via,
        @Default("X-Request-Id") String requestIdHeader) {

    public ForwardingConfig {
        trustedProxies = List.copyOf(trustedProxies);
        for (int i = 0; i < trustedProxies.size(); i++) {
            try {
                CidrSet.parse(List.of(trustedProxies.get(i)));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigException("trusted_proxies[" + i + "]", e.getMessage());
            }
        }
        HeaderRulesConfig.checkName("request_id_header", requestIdHeader);
    }
}
