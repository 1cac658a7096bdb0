package io.portico.loadtests.ws;

import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;

import java.net.URI;
import java.util.Arrays;

/**
 * Command line of the WebSocket benchmark tools, which {@code bin/bench --suite ws} runs pinned to
 * the load core:
 * <pre>
 *   echo PORT                                    WebSocket echo origin on 127.0.0.1:PORT (any path)
 *   load URI SOCKETS SECONDS MESSAGE_BYTES [--go] round trips, one BENCH line at the end; with --go,
 *                                                prints "open N" once the sockets are up and starts
 *                                                the clock on a line from stdin
 *   idle URI COUNT                               COUNT idle sockets until stdin closes
 * </pre>
 * Exit status 0 on success, 1 when the run went wrong (a socket failed, an echo did not match),
 * 2 on bad arguments.
 */
public final class WsBench {

    private WsBench() {
    }

    public static void main(String[] args) throws Exception {
        // Netty would log through whatever SLF4J binding is on the classpath, at DEBUG; the JDK's
        // logger keeps its INFO default and stays quiet.
        InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
        if (args.length == 0) {
            usage();
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        int status;
        switch (args[0]) {
            case "echo" -> {
                need(rest, 1);
                EchoOrigin.run(port(rest[0]));
                status = 0;
            }
            case "load" -> {
                boolean go = rest.length == 5 && rest[4].equals("--go");
                if (!go) {
                    need(rest, 4);
                }
                status = EchoLoad.run(URI.create(rest[0]), positive(rest[1]), positive(rest[2]), positive(rest[3]), go);
            }
            case "idle" -> {
                need(rest, 2);
                status = IdleSockets.run(URI.create(rest[0]), positive(rest[1]));
            }
            default -> {
                usage();
                status = 2;
            }
        }
        System.exit(status);
    }

    private static void need(String[] args, int n) {
        if (args.length != n) {
            usage();
        }
    }

    private static int port(String s) {
        int p = positive(s);
        if (p > 65535) {
            fail("not a port: " + s);
        }
        return p;
    }

    private static int positive(String s) {
        try {
            int n = Integer.parseInt(s);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        fail("not a positive whole number: " + s);
        return 0;
    }

    private static void usage() {
        fail("usage: WsBench echo PORT | load URI SOCKETS SECONDS MESSAGE_BYTES [--go] | idle URI COUNT");
    }

    private static void fail(String message) {
        System.err.println("wsbench: " + message);
        System.exit(2);
    }
}
