package io.portico.server.it;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.TransportKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTP/3 on each transport. On epoll and io_uring the packets quiche produces in one go leave as
 * one UDP GSO send (segmented datagrams); on NIO one datagram at a time. Either way a large
 * response and many small ones arrive whole.
 */
class Http3TransportsTest {

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "nio", "epoll gso-off"})
    void largeAndSmallResponsesArriveWholeOnEveryTransport(String setup) throws Exception {
        String transport = StreamHarness.transport(setup.split(" ")[0]);
        boolean gsoOff = setup.endsWith("gso-off");
        SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
        try (TestOrigin origin = new TestOrigin("h3-" + transport);
             PorticoHarness portico = PorticoHarness.wrap(PorticoServer.start(ConfigLoader.parse("test.yaml", """
                     transport: %s
                     workers: 2
                     admin: {address: "127.0.0.1:0"}
                     listeners:
                       - name: https
                         address: 127.0.0.1:0
                         tls:
                           certificates:
                             - cert: %s
                               key: %s
                         http3: {enabled: true, gso: %s}
                     access_log: {enabled: false}
                     upstreams:
                       origin:
                         backends: [{address: "127.0.0.1:%d"}]
                     servers:
                       - default: true
                         routes:
                           - {match: {prefix: /}, upstream: origin}
                     """.formatted(transport, cert.certificate(), cert.privateKey(), !gsoOff, origin.port()))));
             H3Client h3 = new H3Client(portico.server().http3Address("https").getPort(), cert.cert())) {
            TransportKind kind = portico.server().transport().kind();
            assertThat(portico.server().transport().supportsSegmentedDatagrams())
                    .as("UDP GSO on %s", kind).isEqualTo(kind != TransportKind.NIO);

            long size = 8L << 20;
            H3Client.Response big = h3.get("/download/" + size);
            assertThat(big.status()).as(big::describe).isEqualTo(200);
            assertThat(big.bodyBytes).isEqualTo(size);
            assertThat(big.error).isNull();
            for (int i = 0; i < 20; i++) {
                H3Client.Response small = h3.get("/hello");
                assertThat(small.status()).as(small::describe).isEqualTo(200);
                assertThat(small.error).isNull();
            }
        } finally {
            cert.delete();
        }
    }
}
