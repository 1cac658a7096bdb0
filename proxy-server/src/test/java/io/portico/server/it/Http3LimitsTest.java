package io.portico.server.it;

import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.quic.QuicClosedChannelException;
import io.netty.handler.codec.quic.QuicTransportError;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The limits HTTP/1.1 and HTTP/2 connections live under, applied to QUIC connections and HTTP/3 streams. */
class Http3LimitsTest {

    private SelfSignedCertificate cert;
    private PorticoServer server;

    @BeforeEach
    void certificate() throws Exception {
        cert = new SelfSignedCertificate("localhost");
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        cert.delete();
    }

    private void start(String listenerExtra) throws Exception {
        server = PorticoServer.start(config(listenerExtra));
    }

    private io.portico.server.config.PorticoConfig config(String listenerExtra) throws Exception {
        return ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: %s, key: %s}]
                    http3: {enabled: true}
                %s
                access_log: {enabled: false}
                servers:
                  - default: true
                    routes: [{match: {prefix: /}, respond: {body: ok}}]
                """.formatted(cert.certificate(), cert.privateKey(), listenerExtra.indent(4).stripTrailing()));
    }

    private int port() {
        return server.http3Address("https").getPort();
    }

    private long h3Event(String name) {
        return server.metrics().listener("https").http3().snapshot().get(name);
    }

    /**
     * The transport error code a new QUIC connection is closed with, whether the close reached the
     * client during its handshake or just after it.
     */
    private long refusal() throws Exception {
        H3Client c;
        try {
            c = new H3Client(port(), cert.cert());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof QuicClosedChannelException closed && closed.event() != null) {
                assertThat(closed.event().isApplicationClose()).isFalse();
                return closed.event().error();
            }
            throw e;
        }
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> c.closedBy != null);
            assertThat(c.closedBy.isApplicationClose()).isFalse();
            return c.closedBy.error();
        } finally {
            c.close();
        }
    }

    @Test
    void overThePerAddressCapANewQuicConnectionIsRefusedWhileTheFirstIsServed() throws Exception {
        start("""
                limits: {max_connections_per_ip: 1}
                """);
        try (H3Client first = new H3Client(port(), cert.cert())) {
            assertThat(first.get("/a").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("https").open() == 1);

            assertThat(refusal()).isEqualTo(QuicTransportError.CONNECTION_REFUSED.code());
            assertThat(server.gate("https").refusedPerIp()).isEqualTo(1);
            assertThat(h3Event("connection_refused")).isEqualTo(1);
            // The refused one never counted: the first is still the only one, and still served.
            assertThat(server.metrics().listener("https").http3().activeConnections()).isEqualTo(1);
            assertThat(first.get("/b").status()).isEqualTo(200);
        }
        // Its place is given back when it closes.
        await().atMost(Duration.ofSeconds(10)).until(() -> server.gate("https").open() == 0);
        try (H3Client again = new H3Client(port(), cert.cert())) {
            assertThat(again.get("/c").status()).isEqualTo(200);
        }
    }

    @Test
    void aQuicConnectionTakesAPlaceUnderTheListenersMaxConnections() throws Exception {
        start("""
                limits: {max_connections: 1}
                """);
        try (H3Client first = new H3Client(port(), cert.cert())) {
            assertThat(first.get("/a").status()).isEqualTo(200);
            // One connection, whichever transport: the TCP side stops accepting at the cap.
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("https").open() == 1);
            assertThat(server.gate("https").paused()).isTrue();

            assertThat(refusal()).isEqualTo(QuicTransportError.CONNECTION_REFUSED.code());
            assertThat(server.gate("https").refusedAtCap()).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !server.gate("https").paused());
        assertThat(server.gate("https").open()).isZero();
    }

    /**
     * A reload that changes only {@code limits.max_connections} applies to the QUIC side too, which
     * shares the TCP side's gate: raised, a new QUIC connection is let in; lowered under the open
     * count, the open ones are still served and new ones are refused until fewer are open. The
     * listener kept the gate with its old cap, and the second connection was refused after the raise.
     */
    @Test
    void aReloadThatChangesOnlyMaxConnectionsAppliesToQuicConnectionsAndClosesNone() throws Exception {
        start("""
                limits: {max_connections: 1}
                """);
        try (H3Client first = new H3Client(port(), cert.cert())) {
            assertThat(first.get("/a").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("https").open() == 1);
            assertThat(refusal()).isEqualTo(QuicTransportError.CONNECTION_REFUSED.code());

            var raised = server.apply(config("limits: {max_connections: 2}\n"), "test");
            assertThat(raised.ok()).as(String.valueOf(raised.error())).isTrue();
            assertThat(raised.changes()).contains("listener https: limits.max_connections 2 (was 1)");
            H3Client second = new H3Client(port(), cert.cert());
            try {
                assertThat(second.get("/b").status()).isEqualTo(200);
                assertThat(first.get("/c").status()).isEqualTo(200);
                await().atMost(Duration.ofSeconds(5)).until(() -> server.gate("https").open() == 2);
                assertThat(refusal()).isEqualTo(QuicTransportError.CONNECTION_REFUSED.code());

                var lowered = server.apply(config("limits: {max_connections: 1}\n"), "test");
                assertThat(lowered.ok()).as(String.valueOf(lowered.error())).isTrue();
                assertThat(lowered.changes()).contains("listener https: limits.max_connections 1 (was 2); its 2 open"
                        + " connections stay open, and it accepts no new one until fewer than 1 are");
                assertThat(first.get("/d").status()).isEqualTo(200);
                assertThat(second.get("/e").status()).isEqualTo(200);
                assertThat(refusal()).isEqualTo(QuicTransportError.CONNECTION_REFUSED.code());
            } finally {
                second.close();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> server.gate("https").open() == 1);
            // One open is still not fewer than the cap of 1.
            assertThat(refusal()).isEqualTo(QuicTransportError.CONNECTION_REFUSED.code());
            assertThat(first.get("/f").status()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.gate("https").open() == 0);
        try (H3Client again = new H3Client(port(), cert.cert())) {
            assertThat(again.get("/g").status()).isEqualTo(200);
        }
    }

    @Test
    void afterKeepaliveRequestsStreamsTheConnectionIsToldGoAwayAndClosesCleanly() throws Exception {
        start("""
                http: {keepalive_requests: 3}
                """);
        try (H3Client c = new H3Client(port(), cert.cert())) {
            for (int i = 0; i < 3; i++) {
                H3Client.Response r = c.get("/n" + i);
                assertThat(r.status()).as(r::describe).isEqualTo(200);
            }
            // The third stream was served, then GOAWAY, and the connection closes once it is done.
            await().atMost(Duration.ofSeconds(10)).until(() -> c.closedBy != null);
            assertThat(c.closedBy.isApplicationClose()).isTrue();
            assertThat(c.closedBy.error()).isEqualTo((int) Http3ErrorCode.H3_NO_ERROR.code());
            assertThat(h3Event("graceful_goaway")).isEqualTo(1);
        }
        try (H3Client next = new H3Client(port(), cert.cert())) {
            assertThat(next.get("/again").status()).isEqualTo(200);
        }
    }

    /**
     * A QUIC connection with no stream open for keepalive_timeout gets GOAWAY and closes with
     * H3_NO_ERROR, as idle HTTP/1.1 and HTTP/2 connections close. QUIC's idle timeout (60s here)
     * restarts with every packet, so a client sending PINGs held its connection, and its place
     * under the caps, for good; one sending nothing held it for the whole minute.
     */
    @Test
    void aConnectionWithNoStreamOpenForKeepaliveTimeoutIsToldGoAwayAndClosed() throws Exception {
        start("""
                http: {keepalive_timeout: 1s}
                """);
        try (H3Client c = new H3Client(port(), cert.cert())) {
            assertThat(c.get("/first").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> c.closedBy != null);
            assertThat(c.closedBy.isApplicationClose()).isTrue();
            assertThat(c.closedBy.error()).isEqualTo((int) Http3ErrorCode.H3_NO_ERROR.code());
            assertThat(h3Event("graceful_goaway")).isEqualTo(1);
        }
    }
}
