package io.portico.server.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain TCP origin on 127.0.0.1:0 with blocking JDK sockets (so it allocates nothing from
 * Netty's pools), one thread per connection running the given behaviour.
 */
final class TcpOrigin implements AutoCloseable {

    /** What the origin does with one accepted connection. */
    @FunctionalInterface
    interface Behaviour {
        void serve(Socket s) throws IOException;
    }

    final AtomicInteger connections = new AtomicInteger();
    final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "tcp-origin");
        t.setDaemon(true);
        return t;
    });

    TcpOrigin(Behaviour behaviour) throws IOException {
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        threads.execute(() -> {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    return;
                }
                connections.incrementAndGet();
                threads.execute(() -> {
                    try (s) {
                        behaviour.serve(s);
                    } catch (IOException | RuntimeException e) {
                        failures.add(e);
                    }
                });
            }
        });
    }

    /** Echoes every byte until the client's FIN, then sends its own. */
    static TcpOrigin echo() throws IOException {
        return new TcpOrigin(s -> {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        });
    }

    int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // Closing a server socket that failed to close leaves nothing to clean up.
        }
        threads.shutdownNow();
    }
}
