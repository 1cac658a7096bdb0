package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SniCompletionEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The ClientHello preread: the name it reports, and the record layouts it refuses. */
class SniPrereadTest {

    /** Stands in for the relay: keeps the preread's verdict and the bytes handed on. */
    private static final class Relay extends ChannelInboundHandlerAdapter {
        final List<SniCompletionEvent> events = new ArrayList<>();
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SniCompletionEvent sni) {
                events.add(sni);
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                byte[] b = new byte[buf.readableBytes()];
                buf.readBytes(b);
                bytes.writeBytes(b);
            } finally {
                buf.release();
            }
        }
    }

    /** Each record of the ClientHello carries at most {@code size} bytes of it, one write per record. */
    @ParameterizedTest
    @ValueSource(ints = {1, 7, 200, 16384})
    void aClientHelloFragmentedIntoSmallRecordsStillNamesItsServer(int size) {
        byte[] records = fragment(handshake(clientHello("a.example.test")), size);
        Relay relay = new Relay();
        EmbeddedChannel ch = new EmbeddedChannel(new SniPreread(10_000), relay);
        for (int at = 0; at < records.length; ) {
            int length = 5 + ((records[at + 3] & 0xff) << 8 | records[at + 4] & 0xff);
            ch.writeInbound(Unpooled.wrappedBuffer(records, at, length));
            at += length;
        }
        assertThat(relay.events).hasSize(1);
        assertThat(relay.events.get(0).isSuccess()).isTrue();
        assertThat(relay.events.get(0).hostname()).isEqualTo("a.example.test");
        assertThat(relay.bytes.toByteArray()).as("every byte handed on, once, in order").isEqualTo(records);
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    /** RFC 8446 5.1: a zero-length handshake record is never valid, and must not read as "no name". */
    @Test
    void anEmptyHandshakeRecordFailsThePrereadAndClosesTheConnection() {
        byte[] hello = clientHello("a.example.test");
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.writeBytes(new byte[] {0x16, 3, 1, 0, 0});
        in.writeBytes(hello);
        Relay relay = new Relay();
        EmbeddedChannel ch = new EmbeddedChannel(new SniPreread(10_000), relay);
        ch.writeInbound(Unpooled.wrappedBuffer(in.toByteArray()));
        assertThat(relay.events).hasSize(1);
        assertThat(relay.events.get(0).isSuccess()).isFalse();
        assertThat(relay.bytes.size()).as("nothing reaches a backend").isZero();
        assertThat(ch.isOpen()).isFalse();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    /** The same empty record after the first fragment of the ClientHello, in a read of its own. */
    @Test
    void anEmptyHandshakeRecordInsideAFragmentedClientHelloFailsThePreread() {
        byte[] records = fragment(handshake(clientHello("a.example.test")), 100);
        Relay relay = new Relay();
        EmbeddedChannel ch = new EmbeddedChannel(new SniPreread(10_000), relay);
        ch.writeInbound(Unpooled.wrappedBuffer(records, 0, 105));
        assertThat(relay.events).isEmpty();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x16, 3, 1, 0, 0}));
        assertThat(relay.events).hasSize(1);
        assertThat(relay.events.get(0).isSuccess()).isFalse();
        assertThat(relay.bytes.size()).isZero();
        assertThat(ch.isOpen()).isFalse();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    /** The TLS records of a JDK client's ClientHello for {@code name}. */
    static byte[] clientHello(String name) {
        try {
            SSLEngine engine = SSLContext.getDefault().createSSLEngine(name, 443);
            engine.setUseClientMode(true);
            SSLParameters p = engine.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(name)));
            engine.setSSLParameters(p);
            ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.wrap(ByteBuffer.allocate(0), out);
            out.flip();
            byte[] hello = new byte[out.remaining()];
            out.get(hello);
            return hello;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The handshake message inside one handshake record. */
    private static byte[] handshake(byte[] record) {
        byte[] message = new byte[record.length - 5];
        System.arraycopy(record, 5, message, 0, message.length);
        return message;
    }

    private static byte[] fragment(byte[] message, int size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int at = 0; at < message.length; at += size) {
            int n = Math.min(size, message.length - at);
            out.writeBytes(new byte[] {0x16, 3, 1, (byte) (n >> 8), (byte) n});
            out.write(message, at, n);
        }
        return out.toByteArray();
    }
}
