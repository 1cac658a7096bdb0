package io.portico.server.admin;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.NetUtil;

import java.util.List;

/**
 * Refuses state-changing admin requests that a web page made. The admin listener is plain HTTP on
 * loopback, by default without a token, so any page open in a browser on that host could POST to
 * it: a form or a no-cors fetch needs no preflight, and the page need not read the answer to empty
 * the cache or reload the proxy. Browsers say where such a request comes from ({@code Origin},
 * {@code Sec-Fetch-Site}); curl and scripts send neither, so they are not affected.
 */
final class CrossSiteGuard {

    private static final String SEC_FETCH_SITE = "sec-fetch-site";

    private CrossSiteGuard() {
    }

    /** Why a request with these fields may not change anything here, or null when it may. */
    static String refusal(HttpHeaders headers) {
        String site = headers.get(SEC_FETCH_SITE);
        if (site != null && (site.equalsIgnoreCase("cross-site") || site.equalsIgnoreCase("same-site"))) {
            return "refused: a " + site.toLowerCase(java.util.Locale.ROOT)
                    + " request from a web page (Sec-Fetch-Site) cannot change the admin listener's state";
        }
        List<String> origins = headers.getAll(HttpHeaderNames.ORIGIN);
        if (origins.isEmpty()) {
            return null;
        }
        if (origins.size() > 1 || !ownOrigin(origins.get(0).trim(), headers.get(HttpHeaderNames.HOST))) {
            return "refused: Origin " + String.join(", ", origins)
                    + " is not the admin listener's own; send the request without Origin (as curl does)";
        }
        return null;
    }

    /**
     * Whether {@code origin} is the one the browser reached this listener at: {@code http://} and
     * the request's own Host, named by an IP address or {@code localhost}. A DNS name is not
     * trusted: a page can rebind its own name to 127.0.0.1 and would then be same-origin with us.
     */
    static boolean ownOrigin(String origin, String host) {
        if (host == null || !origin.equalsIgnoreCase("http://" + host.trim())) {
            return false;
        }
        String name = host.trim();
        if (name.startsWith("[")) {
            int close = name.indexOf(']');
            return close > 0 && NetUtil.isValidIpV6Address(name.substring(1, close));
        }
        int colon = name.indexOf(':');
        if (colon >= 0) {
            name = name.substring(0, colon);
        }
        return name.equalsIgnoreCase("localhost") || NetUtil.isValidIpV4Address(name);
    }
}
