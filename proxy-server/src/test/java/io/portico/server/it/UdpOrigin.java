package io.portico.server.it;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A UDP origin on 127.0.0.1:0 with a JDK socket: it answers each datagram with {@code NAME:} and
 * the datagram's text, and counts what it received. Plus the client side of one exchange.
 */
final class UdpOrigin implements AutoCloseable {

    final AtomicInteger datagrams = new AtomicInteger();
    private final DatagramSocket socket;

    UdpOrigin(String name) throws IOException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread t = new Thread(() -> {
            byte[] buf = new byte[65536];
            while (!socket.isClosed()) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                    datagrams.incrementAndGet();
                    byte[] out = (name + ":" + new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
                            .getBytes(StandardCharsets.US_ASCII);
                    socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        }, "udp-origin-" + name);
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return socket.getLocalPort();
    }

    @Override
    public void close() {
        socket.close();
    }

    /** A client socket on loopback that waits at most {@code timeoutMillis} for an answer. */
    static DatagramSocket client(int timeoutMillis) throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setSoTimeout(timeoutMillis);
        return s;
    }

    /** Sends {@code text} to {@code to} and returns the answer, or null when none came in time. */
    static String exchange(DatagramSocket s, InetSocketAddress to, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.US_ASCII);
        s.send(new DatagramPacket(out, out.length, to));
        byte[] in = new byte[2048];
        DatagramPacket p = new DatagramPacket(in, in.length);
        try {
            s.receive(p);
        } catch (SocketTimeoutException none) {
            return null;
        }
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
    }
}
