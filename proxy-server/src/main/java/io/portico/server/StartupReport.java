package io.portico.server;

import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Map;

/**
 * The block Portico logs once it is listening: transport, TLS provider, every listener, the admin
 * listener, the demo origin, and the warnings that matter (kernel settings, options a transport
 * cannot honour, certificates), so one look at the log says how this instance runs.
 */
final class StartupReport {

    private StartupReport() {
    }

    static String render(PorticoServer server) {
        StringBuilder sb = new StringBuilder(512);
        sb.append("portico ").append(PorticoServer.version()).append(" listening");
        line(sb, "transport", server.transport().kind().name().toLowerCase(Locale.ROOT) + " ("
                + server.transport().reason() + "), " + server.config().effectiveWorkers() + " event loops");
        String tls = server.tlsProviderDescription();
        line(sb, "tls", tls == null ? "not used" : tls);
        Map<String, InetSocketAddress> addresses = server.listenerAddresses();
        addresses.forEach((name, address) -> {
            var context = server.listenerContexts().get(name);
            InetSocketAddress h3 = server.http3Address(name);
            line(sb, "listener", name + " " + context.scheme() + "://" + PorticoServer.hostPort(address)
                    + (h3 == null ? "" : " + HTTP/3 on udp " + PorticoServer.hostPort(h3)));
        });
        server.streamListenerDescriptions().forEach((name, d) -> line(sb, "listener", name + " " + d));
        InetSocketAddress admin = server.adminAddress();
        line(sb, "admin", admin == null ? "off" : "http://" + PorticoServer.hostPort(admin)
                + " (/metrics /status /upstreams /config /ui, POST /reload"
                + (server.config().admin().tokenFile() != null || server.config().admin().tokenEnv() != null
                ? "; bearer token required)" : "; no token)"));
        InetSocketAddress demo = server.demoAddress();
        if (demo != null) {
            line(sb, "demo origin", "http://" + PorticoServer.hostPort(demo));
        }
        line(sb, "access log", server.config().accessLog().enabled()
                ? server.config().accessLog().path() : "off");
        if (server.warnings().isEmpty()) {
            line(sb, "warnings", "none");
        } else {
            for (String w : server.warnings()) {
                line(sb, "warning", w);
            }
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String label, String value) {
        sb.append("\n  ").append(label);
        for (int i = label.length(); i < 12; i++) {
            sb.append(' ');
        }
        sb.append(value);
    }
}
