package io.portico.server.listener;

import io.portico.server.config.ListenerConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Startup warnings about kernel limits that silently undo the listener config: a backlog capped by
 * somaxconn, fast_open without server-side TFO, buffers capped by rmem_max/wmem_max, too few file
 * descriptors or ephemeral ports. A setting that cannot be read (not Linux) gives no warning.
 */
public final class KernelChecks {

    /** Below this, a busy proxy runs out of descriptors: each proxied request holds two. */
    static final long MIN_OPEN_FILES = 65_536;
    /** Linux's default range, 32768-60999, has 28232 ports; warn only when it was narrowed. */
    static final long MIN_EPHEMERAL_PORTS = 28_000;
    private static final int TFO_SERVER_ENABLE = 0x2;

    private KernelChecks() {
    }

    /** Checks against the running kernel's {@code /proc} and this process's open file limit. */
    public static List<String> warnings(List<ListenerConfig> listeners) {
        return warnings(listeners, Path.of("/proc"));
    }

    /** Checks against the {@code sys} tree under {@code procRoot} and this process's open file limit. */
    public static List<String> warnings(List<ListenerConfig> listeners, Path procRoot) {
        return warnings(listeners, procRoot, maxOpenFiles());
    }

    /** @param maxOpenFiles the open file limit, or -1 when unknown */
    static List<String> warnings(List<ListenerConfig> listeners, Path procRoot, long maxOpenFiles) {
        List<String> warnings = new ArrayList<>();
        long somaxconn = readLong(procRoot.resolve("sys/net/core/somaxconn"));
        long fastOpen = readLong(procRoot.resolve("sys/net/ipv4/tcp_fastopen"));
        long rmemMax = readLong(procRoot.resolve("sys/net/core/rmem_max"));
        long wmemMax = readLong(procRoot.resolve("sys/net/core/wmem_max"));
        for (ListenerConfig c : listeners) {
            String who = "listener " + c.name() + ": ";
            if (somaxconn >= 0 && c.backlog() > somaxconn) {
                warnings.add(who + "backlog " + c.backlog() + " is capped by net.core.somaxconn=" + somaxconn
                        + "; raise it with sysctl -w net.core.somaxconn=" + c.backlog());
            }
            if (fastOpen >= 0 && c.fastOpen() > 0 && (fastOpen & TFO_SERVER_ENABLE) == 0) {
                warnings.add(who + "fast_open is set but net.ipv4.tcp_fastopen=" + fastOpen
                        + " does not enable server-side TCP Fast Open (bit 0x2); set it to " + (fastOpen | TFO_SERVER_ENABLE));
            }
            if (rmemMax >= 0 && c.receiveBuffer().bytes() > rmemMax) {
                warnings.add(who + "receive_buffer " + c.receiveBuffer() + " is capped by net.core.rmem_max=" + rmemMax);
            }
            if (wmemMax >= 0 && c.sendBuffer().bytes() > wmemMax) {
                warnings.add(who + "send_buffer " + c.sendBuffer() + " is capped by net.core.wmem_max=" + wmemMax);
            }
        }
        if (maxOpenFiles >= 0 && maxOpenFiles < MIN_OPEN_FILES) {
            warnings.add("open file limit (ulimit -n) is " + maxOpenFiles + "; every client and upstream connection"
                    + " needs a descriptor, raise it to at least " + MIN_OPEN_FILES);
        }
        long[] range = readRange(procRoot.resolve("sys/net/ipv4/ip_local_port_range"));
        if (range != null && range[1] - range[0] + 1 < MIN_EPHEMERAL_PORTS) {
            warnings.add("net.ipv4.ip_local_port_range " + range[0] + "-" + range[1] + " leaves only "
                    + (range[1] - range[0] + 1) + " ephemeral ports for connections to each upstream address");
        }
        return List.copyOf(warnings);
    }

    private static long maxOpenFiles() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return -1;
    }

    /** The number in a one-number /proc file, or -1 when it is missing or unreadable. */
    private static long readLong(Path file) {
        String text = read(file);
        if (text == null) {
            return -1;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static long[] readRange(Path file) {
        String text = read(file);
        if (text == null) {
            return null;
        }
        String[] parts = text.split("\\s+");
        try {
            return parts.length == 2 ? new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1])} : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The file's first line. Read through a buffer on purpose: /proc/sys reports a size of 0, so
     * {@code Files.readString} reads one byte and then asks again at offset 1, where the kernel's
     * integer sysctls answer end-of-file, leaving "4" of "4096".
     */
    private static String read(Path file) {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
            String line = in.readLine();
            return line == null ? null : line.trim();
        } catch (IOException | SecurityException e) {
            return null;
        }
    }
}
