package io.portico.server.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http3.DefaultHttp3DataFrame;
import io.netty.handler.codec.http3.Http3ErrorCode;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.portico.server.PorticoServer;
import io.portico.server.config.ConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The rules an HTTP/1.1 request lives under, applied to each HTTP/3 request stream: the header
 * section limit (431 on the stream, not a connection error), header_timeout and body_timeout
 * (408), and an access-log line for a request refused as malformed.
 */
class Http3StreamRulesTest {

    @TempDir
    Path dir;
    private SelfSignedCertificate cert;
    private ScriptedOrigin origin;
    private PorticoServer server;
    private H3Client client;
    private Path log;

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (origin != null) {
            origin.close();
        }
        if (cert != null) {
            cert.delete();
        }
    }

    /** One HTTP/3 listener with {@code listenerExtra} in front of {@link #origin}, access log in {@link #log}. */
    private void start(String listenerExtra) throws Exception {
        cert = new SelfSignedCertificate("localhost");
        origin = new ScriptedOrigin();
        origin.on("/hi", r -> ScriptedOrigin.Reply.ok("hi"));
        log = dir.resolve("access.log");
        server = PorticoServer.start(ConfigLoader.parse("test.yaml", """
                workers: 1
                admin: {address: "127.0.0.1:0"}
                listeners:
                  - name: https
                    address: 127.0.0.1:0
                    tls:
                      certificates: [{cert: %s, key: %s}]
                    http3: {enabled: true, stream_idle_timeout: 30s}
                %s
                access_log: {enabled: true, path: %s}
                upstreams:
                  origin:
                    backends: [{address: "127.0.0.1:%d"}]
                servers:
                  - routes: [{match: {prefix: /}, upstream: origin}]
                """.formatted(cert.certificate(), cert.privateKey(), listenerExtra.indent(4).stripTrailing(), log,
                origin.port())));
        client = new H3Client(server.http3Address("https").getPort(), cert.cert());
    }

    private long h3Event(String name) {
        return server.metrics().listener("https").http3().snapshot().get(name);
    }

    private List<String> awaitLines(int n) {
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && Files.readAllLines(log).size() >= n);
        try {
            return Files.readAllLines(log);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * HTTP/2 answers a header list over max_header_list_size with 431 on its stream; HTTP/3 did not:
     * Netty's codec closed the whole connection with H3_EXCESSIVE_LOAD, every other stream with it.
     */
    @Test
    void anOversizedHeaderSectionGets431OnItsStreamAndTheConnectionCarriesOn() throws Exception {
        start("http2: {max_header_list_size: 4k}");
        Http3Headers big = client.headers("GET", "/hi");
        big.add("cookie", "c=" + "x".repeat(6000));
        H3Client.Response r = client.send(big, null);
        assertThat(r.status()).as(r::describe).isEqualTo(431);
        assertThat(origin.hits("/hi")).isZero();
        assertThat(h3Event("header_list_too_large")).isEqualTo(1);

        // The same QUIC connection serves its next stream.
        H3Client.Response next = client.get("/hi");
        assertThat(next.status()).as(next::describe).isEqualTo(200);
        assertThat(client.closedBy).isNull();
        assertThat(awaitLines(2).get(0)).contains("\" 431 ").contains("HTTP/3.0")
                .endsWith(" error=header_list_too_large");
    }

    /**
     * A stream whose head never completes (a slowloris over HTTP/3) is answered 408 at header_timeout,
     * as a partial HTTP/1.1 head is; before, it held its stream (and its place under max_streams)
     * until stream_idle_timeout or the connection's end.
     */
    @Test
    void aHeadThatDoesNotCompleteWithinHeaderTimeoutGets408() throws Exception {
        start("http: {header_timeout: 1s}");
        RawStream raw = new RawStream();
        QuicStreamChannel stream = client.quic.createStream(QuicStreamType.BIDIRECTIONAL, raw).get(10, TimeUnit.SECONDS);
        // A HEADERS frame announcing 100 bytes, of which only 10 come.
        ByteBuf partial = Unpooled.buffer().writeByte(0x01).writeByte(0x40).writeByte(100).writeZero(10);
        stream.writeAndFlush(partial).sync();

        byte[] answer = raw.done.get(20, TimeUnit.SECONDS);
        // The QPACK static table has no :status 408, so its digits go out as a literal.
        assertThat(new String(answer, StandardCharsets.ISO_8859_1)).contains("408");
        assertThat(awaitLines(1).get(0)).contains("\" 408 ").endsWith(" error=client_header_timeout");
        assertThat(client.get("/hi").status()).as("the connection still serves").isEqualTo(200);
    }

    /** A body that stops coming while Portico asks for it is answered 408 at body_timeout, as on HTTP/1.1. */
    @Test
    void aBodyThatStallsGets408AfterBodyTimeout() throws Exception {
        start("http: {body_timeout: 1s}");
        Http3Headers head = client.headers("POST", "/upload");
        head.setInt("content-length", 100);
        H3Client.Response r = client.sendWithoutEnd(head, new byte[10]).await();
        assertThat(r.status()).as(r::describe).isEqualTo(408);
        assertThat(origin.hits("/upload")).isZero();
        assertThat(awaitLines(1).get(0)).contains("\"POST /upload HTTP/3.0\" 408 ").endsWith(" error=client_body_timeout");
        assertThat(client.get("/hi").status()).as("the connection still serves").isEqualTo(200);
    }

    /**
     * A body crawling below min_body_rate is answered 408 once body_timeout's grace has passed,
     * though no gap between its bytes comes near body_timeout, as on HTTP/1.1
     * (SlowClientsTest); before, an HTTP/3 upload could crawl for as long as it had bytes to send.
     */
    @Test
    void aBodyCrawlingBelowMinBodyRateGets408ThoughNoGapReachesBodyTimeout() throws Exception {
        start("http: {body_timeout: 700ms, min_body_rate: 1k}");
        Http3Headers head = client.headers("POST", "/upload");
        head.setInt("content-length", 100_000);
        H3Client.Response r = new H3Client.Response();
        long start = System.nanoTime();
        QuicStreamChannel stream = client.open(head, r);
        // 10 bytes every 100 ms is 100 B/s, far below 1k a second; no gap is near 700 ms.
        Pace.every(Duration.ofMillis(100), () -> {
            if (r.done.isDone() || !stream.isActive()) {
                return false;
            }
            stream.writeAndFlush(new DefaultHttp3DataFrame(Unpooled.wrappedBuffer(new byte[10])));
            return true;
        });
        r.done.get(10, TimeUnit.SECONDS);
        assertThat(r.status()).as(r::describe).isEqualTo(408);
        assertThat((System.nanoTime() - start) / 1_000_000).isBetween(600L, 4000L);
        assertThat(origin.hits("/upload")).isZero();
        assertThat(awaitLines(1).get(0)).contains("\"POST /upload HTTP/3.0\" 408 ")
                .endsWith(" error=client_body_too_slow");
        assertThat(client.get("/hi").status()).as("the connection still serves").isEqualTo(200);
    }

    /**
     * A request that reaches its content-length before its FIN waits for it, as on HTTP/2: a
     * request declaring 0 bytes went upstream whole at once, and ran there though the stream went
     * on with DATA and was reset as malformed.
     */
    @Test
    void aRequestThatReachesItsLengthBeforeItsFinIsCompletedUpstreamOnlyAtTheFin() throws Exception {
        start("");
        origin.on("/upload", r -> ScriptedOrigin.Reply.ok("stored"));
        Http3Headers zero = client.headers("POST", "/upload");
        zero.setInt("content-length", 0);
        H3Client.Response r = new H3Client.Response();
        QuicStreamChannel stream = client.open(zero, r);
        stream.writeAndFlush(new DefaultHttp3DataFrame(Unpooled.wrappedBuffer(new byte[] {'x'})))
                .addListener(f -> stream.shutdownOutput());
        r.done.get(10, TimeUnit.SECONDS);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        Http3Headers five = client.headers("POST", "/upload");
        five.setInt("content-length", 5);
        assertThat(client.send(five, "hello".getBytes(StandardCharsets.US_ASCII)).status()).isEqualTo(200);
        assertThat(origin.hits("/upload")).isEqualTo(1);
    }

    /** HTTP/1.1 logs the 400 it answers a malformed head with; an HTTP/3 stream reset for one was not logged. */
    @Test
    void aRequestResetAsMalformedIsLoggedAs400WithItsReason() throws Exception {
        start("");
        Http3Headers noScheme = H3Client.unvalidated().method("GET").path("/hi").authority(client.authority);
        H3Client.Response r = client.send(noScheme, null);
        assertThat(r.resetCode).as(r::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());
        Http3Headers forbidden = client.headers("GET", "/hi");
        forbidden.add("connection", "keep-alive");
        H3Client.Response f = client.send(forbidden, null);
        assertThat(f.resetCode).as(f::describe).isEqualTo(Http3ErrorCode.H3_MESSAGE_ERROR.code());

        List<String> lines = awaitLines(2);
        assertThat(lines.get(0)).contains("HTTP/3.0\" 400 ").contains(" listener=https ")
                .endsWith(" error=malformed_request:pseudo_headers");
        assertThat(lines.get(1)).contains("HTTP/3.0\" 400 ")
                .endsWith(" error=malformed_request:connection_specific_field");
        assertThat(origin.hits("/hi")).isZero();
        assertThat(h3Event("malformed_request")).isEqualTo(2);
    }

    /** A request stream without Netty's HTTP/3 codec: what it writes goes as it is, what comes back is kept. */
    private static final class RawStream extends ChannelInboundHandlerAdapter {
        final CompletableFuture<byte[]> done = new CompletableFuture<>();
        private final ByteArrayOutputStream got = new ByteArrayOutputStream();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            got.writeBytes(bytes);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                done.complete(got.toByteArray());
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.complete(got.toByteArray());
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.complete(got.toByteArray());
        }
    }
}
