package io.portico.server.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An origin that answers each request path with bytes written exactly as given, for responses no
 * HTTP library would produce. A connection stays open after each answer, reading the next request,
 * until the peer closes it; {@link #open} counts connections still open on the origin's side.
 */
public final class RawOrigin implements AutoCloseable {

    private final ServerSocket server;
    private final Map<String, byte[]> answers = new ConcurrentHashMap<>();
    public final AtomicInteger open = new AtomicInteger();
    public final AtomicInteger requests = new AtomicInteger();
    /** Connections ever accepted, for tests that must show the origin was never contacted. */
    public final AtomicInteger accepted = new AtomicInteger();
    /** Every request head received, in order. */
    public final List<String> heads = new CopyOnWriteArrayList<>();
    private final Map<Socket, java.util.Set<String>> served = new ConcurrentHashMap<>();

    public RawOrigin() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "raw-origin");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Answers {@code path} with {@code response} (ISO-8859-1 text, CRLFs written out). */
    public RawOrigin on(String path, String response) {
        answers.put(path, response.getBytes(StandardCharsets.ISO_8859_1));
        return this;
    }

    public int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                accepted.incrementAndGet();
                open.incrementAndGet();
                Thread t = new Thread(() -> serve(s), "raw-origin-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** Connections still open that have answered {@code path}. */
    public long openThatServed(String path) {
        return served.values().stream().filter(paths -> paths.contains(path)).count();
    }

    private void serve(Socket s) {
        java.util.Set<String> paths = ConcurrentHashMap.newKeySet();
        served.put(s, paths);
        try (s) {
            InputStream in = s.getInputStream();
            String head;
            while ((head = readHead(in)) != null) {
                requests.incrementAndGet();
                heads.add(head);
                String path = head.split(" ", 3)[1];
                paths.add(path);
                byte[] answer = answers.get(path);
                if (answer == null) {
                    answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
                }
                s.getOutputStream().write(answer);
                s.getOutputStream().flush();
            }
        } catch (IOException ignored) {
            // the peer reset the connection: it is closed either way
        } finally {
            served.remove(s);
            open.decrementAndGet();
        }
    }

    /** A request head (bodies are not used here), or null at the end of the stream. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        int matched = 0;
        while ((c = in.read()) != -1) {
            b.write(c);
            matched = (c == '\r' && (matched == 0 || matched == 2)) || (c == '\n' && (matched == 1 || matched == 3))
                    ? matched + 1 : 0;
            if (matched == 4) {
                return b.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
