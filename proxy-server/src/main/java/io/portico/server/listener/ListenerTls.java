package io.portico.server.listener;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslProvider;
import io.portico.server.config.TlsCertificateConfig;
import io.portico.server.config.TlsGlobalConfig;
import io.portico.server.config.TlsListenerConfig;
import io.portico.tls.DevCertificate;
import io.portico.tls.KeyMaterial;
import io.portico.tls.LibcryptoSigner;
import io.portico.tls.OcspFetcher;
import io.portico.tls.OcspStapler;
import io.portico.tls.TlsProviders;
import io.portico.tls.PemFiles;
import io.portico.tls.ServerTls;
import io.portico.tls.ServerTlsOptions;
import io.portico.tls.SniCertificate;
import io.portico.tls.TicketKeys;
import io.portico.tls.TlsConfigException;
import io.portico.tls.TlsProfile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.Map;
import java.util.TreeMap;

/**
 * A listener's TLS: its {@code tls:} section turned into built server contexts (certificates loaded
 * and checked), rebuilt when the files change or on demand. New handshakes use the newest contexts;
 * established connections keep the ones they started with. Ticket keys and the OCSP stapler
 * outlive rebuilds, so tickets issued before a reload still resume after it, unless the client
 * CAs changed (ServerTls binds sessions to the client-auth policy and CAs).
 */
public final class ListenerTls implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("portico");

    private final String listener;
    private final TlsListenerConfig config;
    private final TlsGlobalConfig global;
    private final SslProvider provider;
    private final TicketKeys tickets;
    private final OcspStapler stapler = new OcspStapler();
    private volatile ServerTls current;
    private OcspFetcher ocsp;
    private Map<Path, String> stamps;

    private ListenerTls(String listener, TlsListenerConfig config, TlsGlobalConfig global, SslProvider provider,
                        TicketKeys tickets) {
        this.listener = listener;
        this.config = config;
        this.global = global;
        this.provider = provider;
        this.tickets = tickets;
    }

    /**
     * Loads and checks everything the section names.
     *
     * @param warnings receives what the operator should know: the development certificate, expiry, key log
     */
    public static ListenerTls create(String listener, TlsListenerConfig c, TlsGlobalConfig global, SslProvider provider,
                                     List<String> warnings) throws TlsConfigException {
        TicketKeys tickets = null;
        if (c.ticketKeyFile() != null) {
            tickets = TicketKeys.fromFile(Path.of(c.ticketKeyFile()));
        } else if (c.sessionTickets()) {
            tickets = TicketKeys.random(c.ticketRotation());
        }
        ListenerTls tls = new ListenerTls(listener, c, global, provider, tickets);
        String inherited = System.getenv("SSLKEYLOGFILE");
        if (inherited != null && !inherited.isBlank() && global.keyLogFile() == null) {
            // Exported for browsers and curl, it is no reason to hand a server's secrets to a file.
            warnings.add("listener " + listener + ": SSLKEYLOGFILE is set in the environment but not used;"
                    + " TLS secrets are logged only to tls.key_log_file");
        }
        tls.current = tls.build(warnings);
        tls.stamps = tls.stamps();
        tls.startOcsp(warnings);
        return tls;
    }

    /** Starts fetching OCSP responses for the current certificates, when the listener asks for it. */
    private void startOcsp(List<String> warnings) {
        if (!config.ocspFetch()) {
            return;
        }
        if (!TlsProviders.isOpenSsl(provider)) {
            warnings.add("listener " + listener + ": ocsp_fetch needs the OpenSSL provider; not stapling");
            return;
        }
        ocsp = OcspFetcher.start(stapler, current.materials(), OCSP_SCHEDULER, Duration.ofSeconds(10));
        for (String w : ocsp.warnings()) {
            warnings.add("listener " + listener + ": " + w);
        }
    }

    /** One daemon thread for every listener's OCSP refreshes; the fetches run on the HTTP client's threads. */
    private static final ScheduledExecutorService OCSP_SCHEDULER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "portico-ocsp");
        t.setDaemon(true);
        return t;
    });

    /** The contexts new handshakes use. */
    public ServerTls current() {
        return current;
    }

    /**
     * Rebuilds the contexts when a file they came from changed (or always, when {@code force}).
     * A file that fails to load leaves the running contexts in place and says why.
     *
     * @return true when new contexts were swapped in
     */
    public synchronized boolean reload(boolean force) {
        Map<Path, String> now = stamps();
        if (!force && now.equals(stamps)) {
            return false;
        }
        List<String> warnings = new ArrayList<>();
        try {
            ServerTls rebuilt = build(warnings);
            ServerTls old = current;
            current = rebuilt;
            stamps = now;
            if (ocsp != null) {
                ocsp.close();
                for (KeyMaterial m : old.materials()) {
                    stapler.clear(m);
                }
                startOcsp(warnings);
            }
            LOG.log(System.Logger.Level.INFO, "listener " + listener + ": TLS certificates reloaded");
            for (String w : warnings) {
                LOG.log(System.Logger.Level.WARNING, w);
            }
            return true;
        } catch (TlsConfigException | RuntimeException e) {
            stamps = now;
            LOG.log(System.Logger.Level.WARNING, "listener " + listener + ": TLS reload failed, keeping the "
                    + "certificates in use: " + e.getMessage());
            return false;
        }
    }

    @Override
    public void close() {
        if (ocsp != null) {
            ocsp.close();
        }
        if (tickets != null) {
            tickets.close();
        }
    }

    /** Size and modification time of every file the section names, to notice a change. */
    private Map<Path, String> stamps() {
        Map<Path, String> stamps = new TreeMap<>();
        List<String> files = new ArrayList<>();
        for (TlsCertificateConfig cc : config.certificates()) {
            files.add(cc.cert());
            files.add(cc.key());
            files.add(cc.cert2());
            files.add(cc.key2());
            files.add(cc.pkcs12());
            files.add(cc.passwordFile());
        }
        files.add(config.clientCa());
        files.add(config.ocspResponseFile());
        for (String f : files) {
            if (f == null) {
                continue;
            }
            Path p = Path.of(f);
            try {
                stamps.put(p, Files.size(p) + "@" + Files.getLastModifiedTime(p).toMillis());
            } catch (IOException e) {
                stamps.put(p, "unreadable");
            }
        }
        return stamps;
    }

    private ServerTls build(List<String> warnings) throws TlsConfigException {
        TlsListenerConfig c = config;
        List<SniCertificate> certificates = new ArrayList<>();
        for (TlsCertificateConfig cc : c.certificates()) {
            certificates.add(load(cc, warnings, listener));
        }
        if (certificates.isEmpty()) {
            KeyMaterial dev = DevCertificate.loadOrCreate(Path.of(global.devCertDir()));
            certificates.add(new SniCertificate(dev.names(), List.of(dev)));
            warnings.add("listener " + listener + ": no certificate configured, serving the self-signed DEVELOPMENT "
                    + "certificate for localhost from " + Path.of(global.devCertDir()).toAbsolutePath()
                    + " — clients will not trust it; configure tls.certificates for production");
        }
        List<X509Certificate> clientCa = c.clientCa() == null ? List.of() : PemFiles.loadCertificates(Path.of(c.clientCa()));
        // ServerTls warns that the secrets are written there, and of permissions it tightened.
        Path keyLog = global.keyLogFile() == null ? null : Path.of(global.keyLogFile());
        boolean stapling = c.ocspResponseFile() != null || (c.ocspFetch() && TlsProviders.isOpenSsl(provider));
        ServerTlsOptions options = new ServerTlsOptions(provider, certificates, null,
                c.unknownSni().equals("reject"),
                c.profile().equals("modern") ? TlsProfile.MODERN : TlsProfile.INTERMEDIATE,
                c.protocols(), c.ciphers(), c.curves(), c.alpn(),
                c.sessionCacheSize(), c.sessionTimeout(), tickets,
                switch (c.clientAuth()) {
                    case "optional" -> ClientAuth.OPTIONAL;
                    case "require" -> ClientAuth.REQUIRE;
                    default -> ClientAuth.NONE;
                },
                clientCa, stapling, keyLog,
                LibcryptoSigner.decide(global.rsaSigner(), TlsProviders.isOpenSsl(provider)).libcrypto());
        ServerTls tls = ServerTls.build(options, stapler);
        if (c.ocspResponseFile() != null) {
            // The response vouches for one certificate: the default one.
            for (String w : stapler.load(tls.materials().get(0), Path.of(c.ocspResponseFile()))) {
                warnings.add("listener " + listener + ": " + w);
            }
        }
        for (String w : tls.warnings()) {
            warnings.add("listener " + listener + ": " + w);
        }
        return tls;
    }

    /**
     * Reads what the listener's TLS names, as starting would: certificates and keys (with their
     * passwords), the client CA and the ticket key file. For {@code --check}: it builds no context
     * and writes nothing (with no certificate configured, the development one is not made).
     */
    public static void check(String listener, TlsListenerConfig c, List<String> warnings) throws TlsConfigException {
        for (TlsCertificateConfig cc : c.certificates()) {
            load(cc, warnings, listener);
        }
        if (c.clientCa() != null) {
            PemFiles.loadCertificates(Path.of(c.clientCa()));
        }
        if (c.ticketKeyFile() != null) {
            TicketKeys.fromFile(Path.of(c.ticketKeyFile()));
        }
    }

    private static SniCertificate load(TlsCertificateConfig cc, List<String> warnings, String listener)
            throws TlsConfigException {
        char[] password = password(cc);
        List<KeyMaterial> material = new ArrayList<>();
        if (cc.pkcs12() != null) {
            material.add(KeyMaterial.loadPkcs12(Path.of(cc.pkcs12()), password));
        } else {
            material.add(KeyMaterial.loadPem(Path.of(cc.cert()), Path.of(cc.key()), password));
            if (cc.cert2() != null) {
                material.add(KeyMaterial.loadPem(Path.of(cc.cert2()), Path.of(cc.key2()), password));
            }
        }
        LinkedHashSet<String> names = new LinkedHashSet<>(cc.names());
        if (names.isEmpty()) {
            for (KeyMaterial m : material) {
                names.addAll(m.names());
            }
        }
        // The material's own warnings (expiry, chain) reach the operator through ServerTls.warnings().
        return new SniCertificate(List.copyOf(names), material);
    }

    private static char[] password(TlsCertificateConfig cc) throws TlsConfigException {
        if (cc.passwordEnv() != null) {
            String v = System.getenv(cc.passwordEnv());
            if (v == null) {
                throw new TlsConfigException("environment variable " + cc.passwordEnv() + " (password_env) is not set", null);
            }
            return v.toCharArray();
        }
        if (cc.passwordFile() != null) {
            try {
                List<String> lines = Files.readAllLines(Path.of(cc.passwordFile()), StandardCharsets.UTF_8);
                return lines.isEmpty() ? new char[0] : lines.get(0).toCharArray();
            } catch (IOException e) {
                throw new TlsConfigException("cannot read password_file " + cc.passwordFile() + ": " + e.getMessage(), e);
            }
        }
        return null;
    }
}
