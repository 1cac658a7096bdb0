package io.portico.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Fetching OCSP responses from a real responder on loopback, stapling them, and refreshing them. */
class OcspFetcherTest {

    /** Refreshes and retries within a fraction of a second, so that tests see several rounds. */
    private static final OcspFetcher.Timing FAST = new OcspFetcher.Timing(Duration.ofMillis(100), Duration.ofMillis(300),
            Duration.ofMillis(300), Duration.ofMillis(100), Duration.ofMillis(300));
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static TlsHarness harness;

    private OcspTestResponder responder;
    private ScheduledThreadPoolExecutor scheduler;
    private OcspStapler stapler;
    private KeyMaterial material;

    @BeforeAll
    static void startHarness() {
        harness = new TlsHarness();
    }

    @AfterAll
    static void stopHarness() {
        harness.shutdown();
    }

    @BeforeEach
    void setUp() throws Exception {
        responder = new OcspTestResponder();
        scheduler = new ScheduledThreadPoolExecutor(1);
        scheduler.setRemoveOnCancelPolicy(true);
        stapler = new OcspStapler();
        material = responder.material(responder.leaf("www.example.com"));
    }

    @AfterEach
    void tearDown() {
        scheduler.shutdownNow();
        responder.close();
    }

    @Test
    void findsTheOcspResponderNamedInTheCertificate() {
        KeyMaterial withoutAia = TestPki.material(TestPki.leaf(responder.ca(), "EC", "plain.example.com"),
                responder.ca().certificate());

        assertThat(OcspFetcher.responderOf(material)).contains(responder.url());
        assertThat(OcspFetcher.responderOf(withoutAia)).isEmpty();
    }

    @Test
    void staplesAFetchedResponseThatAnOpenSslClientReceives() throws Exception {
        ServerTls tls = TestOptions.server(SslProvider.OPENSSL, material).with(o -> o.ocspStapling = true).buildTls();
        SslContext client = TestOptions.client(SslProvider.OPENSSL, b -> b.enableOcsp(true));

        try (OcspFetcher fetcher = OcspFetcher.start(tls.ocspStapler(), List.of(material), scheduler, TIMEOUT);
             TlsHarness.Server listener = harness.serve(tls)) {
            await().atMost(WAIT).until(() -> tls.ocspStapler().response(material) != null);
            TlsHarness.Handshake handshake = harness.connect(listener.port(),
                    TestOptions.handler(client, "www.example.com", listener.port()));

            assertThat(fetcher.warnings()).isEmpty();
            assertThat(handshake.failure()).isNull();
            assertThat(handshake.ocspResponse()).isNotNull().isEqualTo(responder.lastAnswer());
            assertThat(responder.seen()).first().satisfies(seen -> {
                assertThat(seen.method()).isEqualTo("POST");
                assertThat(seen.contentType()).isEqualTo("application/ocsp-request");
                assertThat(seen.serials()).containsExactly(material.leaf().getSerialNumber());
            });
        }
    }

    @Test
    void fetchesAgainBeforeTheResponseExpires() {
        responder.validity = Duration.ofSeconds(4);
        OcspFetcher.Timing timing = new OcspFetcher.Timing(Duration.ofMillis(500), Duration.ofDays(1), Duration.ofHours(1),
                Duration.ofMinutes(1), Duration.ofHours(1));

        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, TIMEOUT, timing)) {
            await().atMost(WAIT).until(() -> stapler.response(material) != null);
            byte[] first = stapler.response(material);
            await().atMost(WAIT).until(() -> responder.requests() >= 2);

            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(stapler.response(material)).isNotEqualTo(first).isEqualTo(responder.lastAnswer()));
            assertThat(OcspResponseCheck.nextUpdate(material, stapler.response(material))).isAfter(Instant.now());
        }
    }

    @ParameterizedTest
    @EnumSource(value = OcspTestResponder.Mode.class, names = {"REVOKED", "UNKNOWN", "GARBAGE", "HTTP_500", "WRONG_SIGNER"})
    void aBadAnswerDoesNotReplaceTheStapledResponse(OcspTestResponder.Mode bad) {
        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, TIMEOUT, FAST)) {
            await().atMost(WAIT).until(() -> stapler.response(material) != null);
            responder.mode = bad;
            byte[] good = stapler.response(material);
            int before = responder.requests();

            await().atMost(WAIT).until(() -> responder.requests() >= before + 3);
            assertThat(stapler.response(material)).isEqualTo(good);
        }
    }

    @Test
    void dropsAStapledResponseThatExpiresWithoutAReplacement() {
        responder.validity = Duration.ofSeconds(3);
        OcspFetcher.Timing slowRetries = new OcspFetcher.Timing(Duration.ofMillis(100), Duration.ofMillis(300),
                Duration.ofMillis(300), Duration.ofMinutes(1), Duration.ofHours(1));

        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, TIMEOUT, slowRetries)) {
            await().atMost(WAIT).until(() -> stapler.response(material) != null);
            responder.mode = OcspTestResponder.Mode.HTTP_500;

            await().atMost(WAIT).until(() -> stapler.response(material) == null);
            assertThat(responder.requests()).isLessThan(10);
        }
    }

    @Test
    void retriesUntilTheResponderAnswers() {
        responder.mode = OcspTestResponder.Mode.HTTP_500;

        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, TIMEOUT, FAST)) {
            await().atMost(WAIT).until(() -> responder.requests() >= 2);
            assertThat(stapler.response(material)).isNull();
            responder.mode = OcspTestResponder.Mode.GOOD;

            await().atMost(WAIT).until(() -> stapler.response(material) != null);
        }
    }

    @Test
    void givesUpOnAResponderThatDoesNotAnswerWithinTheTimeout() {
        responder.mode = OcspTestResponder.Mode.HANG;

        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, Duration.ofMillis(300), FAST)) {
            await().atMost(WAIT).until(() -> responder.requests() >= 2);
            responder.mode = OcspTestResponder.Mode.GOOD;

            await().atMost(WAIT).until(() -> stapler.response(material) != null);
        }
    }

    @Test
    void acceptsAResponseSignedByAResponderTheIssuerAuthorised() {
        responder.mode = OcspTestResponder.Mode.DELEGATED;

        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, TIMEOUT)) {
            await().atMost(WAIT).until(() -> stapler.response(material) != null);

            assertThat(stapler.response(material)).isEqualTo(responder.lastAnswer());
        }
    }

    @Test
    void skipsCertificatesWithoutAResponderOrWithoutTheirIssuer() {
        KeyMaterial leafOnly = TestPki.material(responder.leaf("alone.example.com"));
        KeyMaterial withoutAia = TestPki.material(TestPki.leaf(responder.ca(), "EC", "plain.example.com"),
                responder.ca().certificate());

        try (OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(leafOnly, withoutAia, material), scheduler, TIMEOUT)) {
            await().atMost(WAIT).until(() -> stapler.response(material) != null);

            assertThat(fetcher.warnings()).hasSize(2);
            assertThat(fetcher.warnings().get(0)).contains(leafOnly.source()).contains("has only the leaf");
            assertThat(fetcher.warnings().get(1)).contains(withoutAia.source()).contains("names no OCSP responder");
            assertThat(responder.requests()).isEqualTo(1);
            assertThat(stapler.response(leafOnly)).isNull();
        }
    }

    @Test
    void stopsFetchingWhenClosed() {
        OcspFetcher fetcher = OcspFetcher.start(stapler, List.of(material), scheduler, TIMEOUT, FAST);
        await().atMost(WAIT).until(() -> responder.requests() >= 2);

        fetcher.close();
        int atClose = responder.requests();

        assertThat(scheduler.getQueue()).isEmpty();
        // A request already on its way may still land; no new round starts.
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .until(() -> responder.requests() <= atClose + 1);
        assertThat(stapler.response(material)).isNotNull();
    }

    @Test
    void aOneOffFetchReturnsTheCheckedResponseOrSaysWhyNot() {
        HttpClient client = HttpClient.newHttpClient();
        KeyMaterial withoutAia = TestPki.material(TestPki.leaf(responder.ca(), "EC", "plain.example.com"),
                responder.ca().certificate());

        byte[] fetched = OcspFetcher.fetch(client, material, TIMEOUT).join();
        responder.mode = OcspTestResponder.Mode.REVOKED;

        assertThat(fetched).isEqualTo(responder.lastAnswer());
        assertThatThrownBy(() -> OcspFetcher.fetch(client, material, TIMEOUT).join())
                .isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(TlsConfigException.class)
                .hasMessageContaining("was revoked on");
        assertThatThrownBy(() -> OcspFetcher.fetch(client, withoutAia, TIMEOUT).join())
                .hasCauseInstanceOf(TlsConfigException.class)
                .hasMessageContaining("names no OCSP responder");
        assertThatThrownBy(() -> OcspFetcher.fetch(client, URI.create("http://127.0.0.1:1/ocsp"), material, TIMEOUT).join())
                .isInstanceOf(CompletionException.class);
    }

    @Test
    void refreshesAtHalfTheRemainingValidityWithinTheBounds() {
        OcspFetcher.Timing timing = OcspFetcher.Timing.DEFAULT;
        Instant now = Instant.now();

        assertThat(timing.refreshAfter(now.plus(Duration.ofHours(10)), now)).isEqualTo(Duration.ofHours(5));
        assertThat(timing.refreshAfter(now.plus(Duration.ofDays(7)), now)).isEqualTo(Duration.ofDays(1));
        assertThat(timing.refreshAfter(now.plusSeconds(30), now)).isEqualTo(Duration.ofMinutes(1));
        assertThat(timing.refreshAfter(null, now)).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void backsOffByDoublingFromAMinuteToAnHour() {
        OcspFetcher.Timing timing = OcspFetcher.Timing.DEFAULT;
        Duration wait = null;
        StringBuilder waits = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            wait = timing.retryAfter(wait);
            waits.append(wait.toMinutes()).append(' ');
        }

        assertThat(waits.toString().trim()).isEqualTo("1 2 4 8 16 32 60 60");
    }

    @Test
    void refusesTimingsThatCannotWork() {
        assertThatThrownBy(() -> new OcspFetcher.Timing(Duration.ofHours(2), Duration.ofHours(1), Duration.ofHours(1),
                Duration.ofMinutes(1), Duration.ofHours(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OcspFetcher.start(stapler, List.of(material), scheduler, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
