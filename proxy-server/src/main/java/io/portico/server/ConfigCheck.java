package io.portico.server;

import io.portico.server.admin.AdminServer;
import io.portico.server.config.HostPort;
import io.portico.server.config.ListenerConfig;
import io.portico.server.config.PorticoConfig;
import io.portico.server.config.UpstreamConfig;
import io.portico.server.listener.ListenerTls;
import io.portico.server.upstream.UpstreamTls;
import io.portico.tls.TlsConfigException;
import io.portico.tls.TlsProviders;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code portico --check} verifies past the file itself, as nginx's {@code -t} does: what
 * starting would read (certificates and keys, CA files, ticket keys, the admin token) and whether
 * the listeners' host names resolve. A file that passed the loader could still fail to start on
 * any of these; {@code --check} said it was valid. Nothing is bound, built to run, or written.
 */
final class ConfigCheck {

    private ConfigCheck() {
    }

    /** The problems found, each as {@code key: what}; empty when starting would get past all of them. */
    static List<String> problems(PorticoConfig config) {
        List<String> problems = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<ListenerConfig> listeners = config.listeners();
        for (int i = 0; i < listeners.size(); i++) {
            ListenerConfig lc = listeners.get(i);
            String unresolved = unresolved(lc.address());
            if (unresolved != null) {
                problems.add("listeners[" + i + "].address: host not found: " + unresolved);
            }
            if (lc.tls() != null) {
                try {
                    ListenerTls.check(lc.name(), lc.tls(), warnings);
                } catch (TlsConfigException | RuntimeException e) {
                    problems.add("listeners[" + i + "].tls: " + e.getMessage());
                }
            }
        }
        for (Map.Entry<String, UpstreamConfig> e : config.upstreams().entrySet()) {
            if (e.getValue().tls() != null) {
                try {
                    UpstreamTls.build(e.getValue().tls(), TlsProviders.select(
                            TlsProviders.Choice.valueOf(config.tls().provider().toUpperCase(Locale.ROOT))));
                } catch (TlsConfigException | RuntimeException ex) {
                    problems.add("upstreams." + e.getKey() + ".tls: " + ex.getMessage());
                }
            }
        }
        if (config.admin().enabled()) {
            String unresolved = unresolved(config.admin().address());
            if (unresolved != null) {
                problems.add("admin.address: host not found: " + unresolved);
            }
            try {
                AdminServer.readToken(config.admin());
            } catch (IllegalStateException e) {
                problems.add(e.getMessage());
            }
        }
        return problems;
    }

    /** The host of {@code address} when it is a name that does not resolve, else null. */
    private static String unresolved(HostPort address) {
        String host = address.host();
        if (host.isEmpty() || host.equals("*")) {
            return null;
        }
        try {
            InetAddress.getByName(host);
            return null;
        } catch (UnknownHostException e) {
            return host;
        }
    }
}
