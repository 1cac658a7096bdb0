package io.portico.server.it;

import io.portico.server.PorticoServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramSocket;
import java.net.Socket;
import java.nio.file.Path;

import static io.portico.server.it.StreamHarness.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A tcp listener's CIDR rules and connection caps, as for HTTP listeners (issue 9 for L4); a udp listener's CIDR rules. */
class StreamLimitsTest {

    private static String config(int originPort, String limits) {
        return """
                access_log: {enabled: false}
                listeners:
                  - name: tcp
                    address: 127.0.0.1:0
                    protocol: tcp
                    upstream: echo
                    limits: %s
                upstreams:
                  echo:
                    backends: [{address: "127.0.0.1:%d"}]
                """.formatted(limits, originPort);
    }

    /** Logged 403 as nginx stream's deny is, not as a client that left. */
    @Test
    void aDeniedClientIsClosedBeforeABackendIsDialled(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TcpOrigin origin = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(config(origin.port(), "{access: {deny: [127.0.0.0/8]}}")
                     .replace("access_log: {enabled: false}", "access_log: {path: " + log + "}"));
             Socket s = connect(portico, "tcp")) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            assertThat(origin.connections.get()).isZero();
            assertThat(ProxyProtocolTest.awaitLine(portico, log)).startsWith("127.0.0.1 [").contains(" TCP 403 0 0 ")
                    .endsWith(" end=listener_access_denied");
        }
    }

    @Test
    void anAllowedClientIsRelayed() throws Exception {
        try (TcpOrigin origin = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(config(origin.port(), "{access: {allow: [127.0.0.0/8]}}"));
             Socket s = connect(portico, "tcp")) {
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
        }
    }

    @Test
    void aClientOverItsConnectionCapIsClosedWhileItsFirstConnectionKeepsWorking() throws Exception {
        try (TcpOrigin origin = TcpOrigin.echo();
             PorticoServer portico = StreamHarness.start(config(origin.port(), "{max_connections_per_ip: 1}"));
             Socket first = connect(portico, "tcp")) {
            first.getOutputStream().write('a');
            assertThat(first.getInputStream().read()).isEqualTo('a');
            await().until(() -> origin.connections.get() == 1);
            try (Socket second = connect(portico, "tcp")) {
                assertThat(second.getInputStream().read()).isEqualTo(-1);
            }
            first.getOutputStream().write('b');
            assertThat(first.getInputStream().read()).isEqualTo('b');
            assertThat(origin.connections.get()).isEqualTo(1);
        }
    }

    private static String udpConfig(int originPort, String access) {
        return """
                access_log: {enabled: false}
                listeners:
                  - name: udp
                    address: 127.0.0.1:0
                    protocol: udp
                    upstream: dns
                    limits: {access: %s}
                upstreams:
                  dns:
                    backends: [{address: "127.0.0.1:%d"}]
                """.formatted(access, originPort);
    }

    @Test
    void aUdpClientOutsideTheAllowedNetworksGetsNoSessionAndNothingReachesTheBackend() throws Exception {
        try (UdpOrigin origin = new UdpOrigin("dns");
             PorticoServer portico = StreamHarness.start(udpConfig(origin.port(), "{allow: [10.0.0.0/8]}"));
             DatagramSocket client = UdpOrigin.client(300)) {
            assertThat(UdpOrigin.exchange(client, portico.address("udp"), "query")).isNull();
            assertThat(origin.datagrams.get()).isZero();
            assertThat(portico.udpSessions("udp")).isZero();
            assertThat(portico.streamStats("udp").rejectedCount()).isEqualTo(1);
        }
    }

    @Test
    void aUdpClientTheAccessRulesAllowIsRelayed() throws Exception {
        try (UdpOrigin origin = new UdpOrigin("dns");
             PorticoServer portico = StreamHarness.start(udpConfig(origin.port(), "{allow: [127.0.0.0/8]}"));
             DatagramSocket client = UdpOrigin.client(5000)) {
            assertThat(UdpOrigin.exchange(client, portico.address("udp"), "query")).isEqualTo("dns:query");
        }
    }
}
