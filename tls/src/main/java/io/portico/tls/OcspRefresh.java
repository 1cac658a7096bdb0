package io.portico.tls;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One certificate's fetch, staple and reschedule loop (see {@link OcspFetcher}). At most one fetch
 * is in flight; the lock guards the loop's state against {@link #close()}, never a handshake.
 */
final class OcspRefresh {

    private static final System.Logger LOG = OcspFetcher.LOG;

    private final OcspStapler stapler;
    private final KeyMaterial material;
    private final URI responder;
    private final HttpClient client;
    private final ScheduledExecutorService scheduler;
    private final Duration timeout;
    private final OcspFetcher.Timing timing;

    /** The last retry wait, null while the last fetch succeeded. */
    private Duration backoff;
    private ScheduledFuture<?> pending;
    private CompletableFuture<byte[]> inFlight;
    private boolean closed;

    OcspRefresh(OcspStapler stapler, KeyMaterial material, URI responder, HttpClient client,
                ScheduledExecutorService scheduler, Duration timeout, OcspFetcher.Timing timing) {
        this.stapler = stapler;
        this.material = material;
        this.responder = responder;
        this.client = client;
        this.scheduler = scheduler;
        this.timeout = timeout;
        this.timing = timing;
    }

    synchronized void schedule(Duration delay) {
        if (closed) {
            return;
        }
        try {
            pending = scheduler.schedule(this::fetch, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            closed = true;
            LOG.log(System.Logger.Level.WARNING, "OCSP: the scheduler is shut down; no longer refreshing the "
                    + "response for the certificate in " + material.source());
        }
    }

    void close() {
        ScheduledFuture<?> scheduled;
        CompletableFuture<byte[]> fetching;
        synchronized (this) {
            closed = true;
            scheduled = pending;
            fetching = inFlight;
        }
        // Cancelled outside the lock: the HttpClient may complete the fetch, and so call back, meanwhile.
        if (scheduled != null) {
            scheduled.cancel(false);
        }
        if (fetching != null) {
            fetching.cancel(true);
        }
    }

    private void fetch() {
        synchronized (this) {
            if (closed) {
                return;
            }
        }
        CompletableFuture<byte[]> fetch = OcspFetcher.fetch(client, responder, material, timeout);
        boolean abandoned;
        synchronized (this) {
            abandoned = closed;
            inFlight = abandoned ? null : fetch;
        }
        if (abandoned) {
            fetch.cancel(true);
        } else {
            fetch.whenComplete(this::fetched);
        }
    }

    private synchronized void fetched(byte[] der, Throwable failure) {
        inFlight = null;
        if (closed) {
            return;
        }
        if (failure == null) {
            try {
                stapler.set(material, der, responder.toString());
                stapled(der);
                return;
            } catch (TlsConfigException e) {
                failure = e;
            }
        }
        failed(failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure);
    }

    private void stapled(byte[] der) {
        backoff = null;
        Instant now = Instant.now();
        Instant nextUpdate = OcspResponseCheck.nextUpdate(material, der);
        Duration delay = timing.refreshAfter(nextUpdate, now);
        LOG.log(System.Logger.Level.INFO, "OCSP: stapling a fresh response from " + responder + " for the certificate in "
                + material.source() + (nextUpdate == null ? " (no next update)" : " valid until " + nextUpdate)
                + "; next fetch in " + readable(delay));
        schedule(delay);
    }

    private void failed(Throwable cause) {
        if (cause instanceof CancellationException) {
            return;
        }
        backoff = timing.retryAfter(backoff);
        Duration delay = backoff;
        String kept;
        byte[] current = stapler.response(material);
        Instant now = Instant.now();
        Instant until = current == null ? null : OcspResponseCheck.nextUpdate(material, current);
        if (current == null) {
            kept = "nothing is stapled for it";
        } else if (until == null) {
            kept = "keeping the stapled response";
        } else if (until.isAfter(now)) {
            kept = "keeping the stapled response, valid until " + until;
            // Wake at its expiry so that a response past its next update is not stapled for a whole back-off.
            Duration left = Duration.between(now, until);
            delay = left.compareTo(delay) < 0 ? left : delay;
        } else {
            stapler.clear(material);
            kept = "dropped the stapled response, out of date since " + until;
        }
        LOG.log(System.Logger.Level.WARNING, "OCSP: fetching a response for the certificate in " + material.source()
                + " failed: " + describe(cause) + "; " + kept + "; retrying in " + readable(delay));
        schedule(delay);
    }

    private String describe(Throwable cause) {
        if (cause instanceof TimeoutException || cause instanceof HttpTimeoutException) {
            return "no answer from " + responder + " within " + timeout.toMillis() + " ms";
        }
        String message = cause.getMessage();
        if (message != null && message.contains(responder.toString())) {
            return message;
        }
        return responder + ": " + (message == null ? cause.getClass().getSimpleName() : message);
    }

    private static String readable(Duration d) {
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            return d.toMillis() + " ms";
        }
        if (d.compareTo(Duration.ofMinutes(2)) < 0) {
            return d.toSeconds() + " s";
        }
        if (d.compareTo(Duration.ofHours(2)) < 0) {
            return d.toMinutes() + " min";
        }
        return d.toHours() + " h";
    }
}
