package io.portico.tls;

import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Fetches OCSP responses from the responder named in each certificate (its Authority Information
 * Access extension) and staples them through an {@link OcspStapler}, refreshed before they expire.
 *
 * <p>{@link #start} fetches for every certificate at once, then again at half the response's
 * remaining validity (see {@link Timing}). A failed fetch, or an answer that does not pass the
 * checks (revoked, unknown, out of date, badly signed, garbage), never replaces the stapled
 * response: it is retried with a doubling back-off, and the stapled response is kept until its
 * next update, then dropped so that clients are not sent a stale one. Fetched responses must be
 * signed by the certificate's issuer or a responder it authorised, so a chain needs its issuer.
 *
 * <p>Nothing blocks: the scheduler only builds requests and hands them to the JDK
 * {@link HttpClient}, whose own threads receive and check the answers, so an event loop will do as
 * the scheduler. What happens is logged to the {@code portico} logger (success at INFO, failures at
 * WARNING); certificates that cannot be fetched for are in {@link #warnings()} instead.
 */
public final class OcspFetcher implements AutoCloseable {

    static final System.Logger LOG = System.getLogger("portico");

    /** Real responses are a few kilobytes; the bound keeps a broken responder from filling the heap. */
    private static final int MAX_RESPONSE_BYTES = 1 << 20;

    /**
     * When to fetch again.
     *
     * @param minRefresh               the earliest refresh after a success, however short the validity
     * @param maxRefresh               the latest refresh after a success, however long the validity
     * @param refreshWithoutNextUpdate the refresh after a response that gives no next update
     * @param firstRetry               the wait after a first failure, doubled at each further one
     * @param maxRetry                 the longest wait between failures
     */
    public record Timing(Duration minRefresh, Duration maxRefresh, Duration refreshWithoutNextUpdate,
                         Duration firstRetry, Duration maxRetry) {

        /** Half the remaining validity between 1 minute and 1 day, hourly without a next update, retries from 1 minute to 1 hour. */
        public static final Timing DEFAULT = new Timing(Duration.ofMinutes(1), Duration.ofDays(1), Duration.ofHours(1),
                Duration.ofMinutes(1), Duration.ofHours(1));

        public Timing {
            for (Duration d : new Duration[] {minRefresh, maxRefresh, refreshWithoutNextUpdate, firstRetry, maxRetry}) {
                if (d == null || d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException("OCSP timings must be positive durations");
                }
            }
            if (minRefresh.compareTo(maxRefresh) > 0 || firstRetry.compareTo(maxRetry) > 0) {
                throw new IllegalArgumentException("OCSP minimum timings must not exceed the maximum ones");
            }
        }

        /** The wait after a response valid until {@code nextUpdate} (null: no next update) was stapled at {@code now}. */
        Duration refreshAfter(Instant nextUpdate, Instant now) {
            if (nextUpdate == null) {
                return refreshWithoutNextUpdate;
            }
            Duration half = Duration.between(now, nextUpdate).dividedBy(2);
            return half.compareTo(minRefresh) < 0 ? minRefresh : half.compareTo(maxRefresh) > 0 ? maxRefresh : half;
        }

        /** The wait after a failure that followed a wait of {@code previous} (null: the first failure). */
        Duration retryAfter(Duration previous) {
            if (previous == null) {
                return firstRetry;
            }
            Duration doubled = previous.multipliedBy(2);
            return doubled.compareTo(maxRetry) > 0 ? maxRetry : doubled;
        }
    }

    private final List<OcspRefresh> refreshes;
    private final List<String> warnings;

    private OcspFetcher(List<OcspRefresh> refreshes, List<String> warnings) {
        this.refreshes = refreshes;
        this.warnings = warnings;
    }

    /** The OCSP responder URL (http or https) in the leaf's Authority Information Access extension, if any. */
    public static Optional<URI> responderOf(KeyMaterial material) {
        byte[] value = material.leaf().getExtensionValue(Extension.authorityInfoAccess.getId());
        if (value == null) {
            return Optional.empty();
        }
        try {
            AuthorityInformationAccess access =
                    AuthorityInformationAccess.getInstance(JcaX509ExtensionUtils.parseExtensionValue(value));
            for (AccessDescription description : access.getAccessDescriptions()) {
                GeneralName location = description.getAccessLocation();
                if (AccessDescription.id_ad_ocsp.equals(description.getAccessMethod())
                        && location.getTagNo() == GeneralName.uniformResourceIdentifier) {
                    URI uri = new URI(ASN1IA5String.getInstance(location.getName()).getString());
                    if ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme())) {
                        return Optional.of(uri);
                    }
                }
            }
        } catch (Exception e) {
            // A malformed extension names no responder that could be asked.
        }
        return Optional.empty();
    }

    /**
     * The DER OCSP request for the leaf (SHA-1 certificate ID, as every responder understands; no
     * nonce, which responders that pre-sign their answers ignore).
     *
     * @throws TlsConfigException when the chain holds only the leaf: the request names the issuer
     */
    public static byte[] request(KeyMaterial material) throws TlsConfigException {
        JcaX509CertificateHolder issuer = issuer(material);
        try {
            CertificateID id = new CertificateID(new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1),
                    issuer, material.leaf().getSerialNumber());
            return new OCSPReqBuilder().addRequest(id).build().getEncoded();
        } catch (Exception e) {
            throw new TlsConfigException("cannot build an OCSP request for the certificate in " + material.source()
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * POSTs an OCSP request for the material to its responder and checks the answer: HTTP 200, a
     * successful response for this certificate signed by its issuer (or a delegated responder),
     * status good, not out of date.
     *
     * @param timeout bounds the whole exchange, connection included
     * @return the checked DER response; completes exceptionally with a {@link TlsConfigException}
     * (no responder, no issuer, bad answer), an {@link IOException}, or a timeout. Cancelling it
     * cancels the exchange.
     */
    public static CompletableFuture<byte[]> fetch(HttpClient client, KeyMaterial material, Duration timeout) {
        Optional<URI> responder = responderOf(material);
        if (responder.isEmpty()) {
            return CompletableFuture.failedFuture(new TlsConfigException("the certificate in " + material.source()
                    + " names no OCSP responder (Authority Information Access)"));
        }
        return fetch(client, responder.get(), material, timeout);
    }

    /** As {@link #fetch(HttpClient, KeyMaterial, Duration)}, from a given responder. */
    public static CompletableFuture<byte[]> fetch(HttpClient client, URI responder, KeyMaterial material,
                                                  Duration timeout) {
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(responder)
                    .timeout(timeout)
                    .header("Content-Type", "application/ocsp-request")
                    .header("Accept", "application/ocsp-response")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(request(material)))
                    .build();
        } catch (TlsConfigException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        String source = responder.toString();
        CompletableFuture<HttpResponse<byte[]>> sent = client.sendAsync(request, info -> info.statusCode() == 200
                ? new LimitedBody(MAX_RESPONSE_BYTES) : HttpResponse.BodySubscribers.replacing(null));
        CompletableFuture<byte[]> checked = sent.thenApply(response -> {
            if (response.statusCode() != 200) {
                throw new CompletionException(new IOException("the OCSP responder " + source + " answered HTTP "
                        + response.statusCode()));
            }
            try {
                OcspResponseCheck.verify(material, response.body(), source);
                return response.body();
            } catch (TlsConfigException e) {
                throw new CompletionException(e);
            }
        });
        // HttpRequest.timeout stops at the response headers; this also bounds a body that trickles in.
        checked.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((body, failure) -> {
            if (failure != null) {
                sent.cancel(true);
            }
        });
        return checked;
    }

    /** {@link #start(OcspStapler, List, ScheduledExecutorService, Duration, Timing)} with {@link Timing#DEFAULT}. */
    public static OcspFetcher start(OcspStapler stapler, List<KeyMaterial> materials,
                                    ScheduledExecutorService scheduler, Duration timeout) {
        return start(stapler, materials, scheduler, timeout, Timing.DEFAULT);
    }

    /**
     * Starts fetching and refreshing a response for each material that names a responder and has
     * its issuer in its chain; the others are skipped and named in {@link #warnings()}. The first
     * fetches start at once; until one succeeds, the stapler keeps what it had for the material.
     *
     * @param scheduler runs the short, non-blocking scheduling work; not shut down by {@link #close()}
     * @param timeout   bounds each exchange with a responder
     */
    public static OcspFetcher start(OcspStapler stapler, List<KeyMaterial> materials,
                                    ScheduledExecutorService scheduler, Duration timeout, Timing timing) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("the OCSP fetch timeout must be positive");
        }
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        List<OcspRefresh> refreshes = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Set<KeyMaterial> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (KeyMaterial material : materials) {
            if (!seen.add(material)) {
                continue;
            }
            Optional<URI> responder = responderOf(material);
            if (responder.isEmpty()) {
                warnings.add("the certificate in " + material.source() + " names no OCSP responder (Authority "
                        + "Information Access): no OCSP response is fetched for it");
            } else if (material.chain().length < 2) {
                warnings.add("the chain in " + material.source() + " has only the leaf: an OCSP request names the "
                        + "issuer, so no OCSP response is fetched for it; add the intermediate certificate");
            } else {
                refreshes.add(new OcspRefresh(stapler, material, responder.get(), client, scheduler, timeout, timing));
            }
        }
        for (OcspRefresh refresh : refreshes) {
            refresh.schedule(Duration.ZERO);
        }
        return new OcspFetcher(List.copyOf(refreshes), List.copyOf(warnings));
    }

    /** Certificates that are not fetched for, and why, one sentence each; empty when all are. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * Stops fetching: pending refreshes are cancelled and exchanges in flight abandoned. Stapled
     * responses stay in the stapler.
     */
    @Override
    public void close() {
        for (OcspRefresh refresh : refreshes) {
            refresh.close();
        }
    }

    private static JcaX509CertificateHolder issuer(KeyMaterial material) throws TlsConfigException {
        X509Certificate[] chain = material.chain();
        if (chain.length < 2) {
            throw new TlsConfigException("the chain in " + material.source() + " has only the leaf: an OCSP "
                    + "request needs the issuer certificate");
        }
        try {
            return new JcaX509CertificateHolder(chain[1]);
        } catch (CertificateEncodingException e) {
            throw new TlsConfigException("cannot encode the issuer certificate in " + material.source(), e);
        }
    }

    /** Collects a body up to a bound and fails past it. */
    private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
        private final int limit;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final CompletableFuture<byte[]> body = new CompletableFuture<>();
        private Flow.Subscription subscription;

        LimitedBody(int limit) {
            this.limit = limit;
        }

        @Override
        public CompletionStage<byte[]> getBody() {
            return body;
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            this.subscription = subscription;
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (body.isDone()) {
                return;
            }
            for (ByteBuffer buffer : buffers) {
                if (bytes.size() + buffer.remaining() > limit) {
                    subscription.cancel();
                    body.completeExceptionally(new IOException("the OCSP response is larger than " + limit + " bytes"));
                    return;
                }
                byte[] chunk = new byte[buffer.remaining()];
                buffer.get(chunk);
                bytes.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable failure) {
            body.completeExceptionally(failure);
        }

        @Override
        public void onComplete() {
            body.complete(bytes.toByteArray());
        }
    }
}
