package io.portico.server;

import io.portico.server.config.ConfigException;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.PorticoConfig;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The command line: {@code portico [--config FILE]} runs, {@code portico --check FILE} validates a
 * config and exits 0 or 1 with the error (file, line, key).
 */
public final class Portico {

    private static final String USAGE = """
            usage: portico [--config FILE]     run (default conf/portico.yaml)
                   portico --check FILE        validate a config file and exit
                   portico --version
            """;

    private Portico() {
    }

    public static void main(String[] args) {
        nettyDefaults();
        configureLogging();
        String configFile = "conf/portico.yaml";
        boolean check = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config", "-c" -> configFile = value(args, ++i);
                case "--check", "-t" -> {
                    check = true;
                    if (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                        configFile = args[++i];
                    }
                }
                case "--version", "-v" -> {
                    System.out.println("portico " + version());
                    return;
                }
                case "--help", "-h" -> {
                    System.out.print(USAGE);
                    return;
                }
                default -> {
                    System.err.print("unknown argument: " + args[i] + "\n" + USAGE);
                    System.exit(2);
                }
            }
        }
        PorticoConfig config;
        try {
            config = ConfigLoader.load(Path.of(configFile));
        } catch (ConfigException e) {
            System.err.println("portico: " + e.getMessage());
            System.exit(1);
            return;
        }
        if (check) {
            List<String> problems = ConfigCheck.problems(config);
            if (!problems.isEmpty()) {
                for (String problem : problems) {
                    System.err.println("portico: " + configFile + ": " + problem);
                }
                System.exit(1);
                return;
            }
            for (String note : config.lint()) {
                System.err.println("portico: " + configFile + ": warning: " + note);
            }
            System.out.println("portico: " + configFile + " is valid");
            return;
        }
        PorticoServer server;
        try {
            server = PorticoServer.start(config, Path.of(configFile));
        } catch (Exception e) {
            System.err.println("portico: cannot start: " + e.getMessage());
            Logger.getLogger("portico").log(Level.FINE, "start failure", e);
            System.exit(1);
            return;
        }
        long startedMs = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        Logger.getLogger("portico").info("portico " + version() + " started in " + startedMs + " ms with "
                + Path.of(configFile).toAbsolutePath().normalize() + " (pid " + ProcessHandle.current().pid() + ")");
        installReloadSignal(server);
        // java.util.logging closes its handlers in its own shutdown hook, so the hook writes to stderr.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            java.time.Duration drain = server.config().shutdownTimeout();
            System.err.println(java.time.OffsetDateTime.now().withNano(0) + " info shutting down: draining for up to "
                    + drain.toSeconds() + "s");
            server.shutdown(drain);
            System.err.println(java.time.OffsetDateTime.now().withNano(0) + " info stopped");
        }, "portico-shutdown"));
    }

    /**
     * SIGHUP reloads the config file (which also re-reads every certificate and key); a file that
     * does not validate changes nothing and the error is logged with file, line and key.
     */
    @SuppressWarnings("restriction")
    private static void installReloadSignal(PorticoServer server) {
        if (sighupIgnored()) {
            // The JVM leaves a signal ignored at start (nohup does that to SIGHUP) ignored: handlers
            // registered for it are never called, silently.
            Logger.getLogger("portico").warning("SIGHUP is ignored by this process (started under nohup?), "
                    + "so it cannot reload the config; use POST /reload on the admin listener, or start "
                    + "Portico without nohup");
            return;
        }
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                Logger.getLogger("portico").info("SIGHUP: reloading " + server.configFile());
                server.reloadAsync();
            });
        } catch (IllegalArgumentException | UnsupportedOperationException noSighupHere) {
            Logger.getLogger("portico").fine("SIGHUP is not available on this platform");
        }
    }

    /** Whether SIGHUP was ignored when this process started (Linux: bit 0 of SigIgn in /proc/self/status). */
    public static boolean sighupIgnored() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigIgn:")) {
                    return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 1L) != 0;
                }
            }
        } catch (java.io.IOException | RuntimeException notLinux) {
            return false;
        }
        return false;
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            System.err.print("missing value for " + args[i - 1] + "\n" + USAGE);
            System.exit(2);
        }
        return args[i];
    }

    /** This build's version, or {@code dev} when run from classes rather than the jar. */
    public static String version() {
        String v = Portico.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Netty settings for a production run, each overridable with its system property. Netty's leak
     * detector defaults to sampling one buffer in 128, and each sample records a stack trace: about 3 % of the CPU of a small proxied request in a profile of {@code bin/bench}. A
     * proxy in production runs without it, as nginx has no such bookkeeping; the tests run it at
     * paranoid, and {@code -Dio.netty.leakDetection.level=simple} (or any level) still turns it on.
     * It must run before any Netty class reads the property.
     */
    static void nettyDefaults() {
        // The jar's manifest opens java.nio and jdk.internal.misc (as bin/portico does); Netty uses
        // them only when asked to.
        if (System.getProperty("io.netty.tryReflectionSetAccessible") == null) {
            System.setProperty("io.netty.tryReflectionSetAccessible", "true");
        }
        if (System.getProperty("io.netty.leakDetection.level") == null
                && System.getProperty("io.netty.leakDetectionLevel") == null) {
            System.setProperty("io.netty.leakDetection.level", "disabled");
        }
    }

    /** One line per message on stderr, nginx-style, through java.util.logging (Netty logs there too). */
    static void configureLogging() {
        Logger root = Logger.getLogger("");
        for (var h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new Formatter() {
            @Override
            public String format(LogRecord r) {
                StringBuilder sb = new StringBuilder(128);
                sb.append(java.time.OffsetDateTime.now().withNano(0)).append(' ')
                        .append(r.getLevel() == Level.WARNING ? "warn" : r.getLevel() == Level.SEVERE ? "error"
                                : r.getLevel().getName().toLowerCase())
                        .append(' ').append(formatMessage(r)).append('\n');
                if (r.getThrown() != null) {
                    var w = new java.io.StringWriter();
                    r.getThrown().printStackTrace(new java.io.PrintWriter(w));
                    sb.append(w);
                }
                return sb.toString();
            }
        });
        root.addHandler(handler);
        root.setLevel(Level.INFO);
        Logger.getLogger("io.netty").setLevel(Level.WARNING);
    }
}
