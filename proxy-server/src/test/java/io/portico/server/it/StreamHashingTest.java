package io.portico.server.it;

import io.portico.server.PorticoServer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static io.portico.server.it.StreamHarness.readAll;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code balance: consistent_hash} with {@code hash.key: client_ip} on a tcp listener: LVS source hashing. */
class StreamHashingTest {

    private static TcpOrigin named(String name) throws IOException {
        return new TcpOrigin(s -> {
            s.getOutputStream().write(name.getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            readAll(s.getInputStream());
        });
    }

    private static String via(PorticoServer portico, String sourceIp, String proxyHeader) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(sourceIp), 0));
            s.connect(portico.address("tcp"), 5000);
            s.setSoTimeout(10_000);
            if (proxyHeader != null) {
                s.getOutputStream().write(proxyHeader.getBytes(StandardCharsets.US_ASCII));
            }
            s.shutdownOutput();
            return new String(readAll(s.getInputStream()), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void eachClientAddressStaysOnOneMemberAndTheAddressesSpread() throws Exception {
        try (TcpOrigin a = named("a"); TcpOrigin b = named("b"); TcpOrigin c = named("c");
             PorticoServer portico = StreamHarness.start("""
                     workers: 2
                     access_log: {enabled: false}
                     listeners:
                       - name: tcp
                         address: 127.0.0.1:0
                         protocol: tcp
                         upstream: pool
                         proxy_protocol: {accept: true, trusted: [127.0.0.2/32]}
                     upstreams:
                       pool:
                         balance: consistent_hash
                         # Strict affinity, as LVS sh: bounded loads would move a key off a busy member.
                         hash: {key: client_ip, bounded_load: 0}
                         backends:
                           - address: 127.0.0.1:%d
                           - address: 127.0.0.1:%d
                           - address: 127.0.0.1:%d
                     """.formatted(a.port(), b.port(), c.port()))) {
            Map<String, String> memberOf = new HashMap<>();
            for (int client = 1; client <= 30; client++) {
                // Through a trusted balancer at 127.0.0.2, the PROXY header's address is the one hashed.
                String header = "PROXY TCP4 198.51.100." + client + " 192.0.2.1 1234 5432\r\n";
                Set<String> seen = new HashSet<>();
                for (int i = 0; i < 3; i++) {
                    seen.add(via(portico, "127.0.0.2", header));
                }
                assertThat(seen).hasSize(1);
                memberOf.put("198.51.100." + client, seen.iterator().next());
            }
            assertThat(new HashSet<>(memberOf.values())).containsExactlyInAnyOrder("a", "b", "c");
            // A direct client is hashed on its own address, the same way every time.
            String direct = via(portico, "127.0.0.3", null);
            assertThat(via(portico, "127.0.0.3", null)).isEqualTo(direct);
        }
    }
}
