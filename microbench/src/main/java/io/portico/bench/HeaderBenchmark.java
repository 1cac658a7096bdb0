package io.portico.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.portico.http.ForwardedHeaders;
import io.portico.http.HopByHopHeaders;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The header work of one proxied HTTP/1.1 request: Netty's decoding of a browser-like request
 * head (the largest allocation source in Portico's JFR profile), and Portico's own rewriting of
 * the headers on the way upstream (hop-by-hop removal, X-Forwarded-*, Forwarded, Via).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class HeaderBenchmark {

    /** What Chromium sends for a page, plus what a client behind another proxy adds. */
    static final String REQUEST = "GET /products/123?ref=home HTTP/1.1\r\n"
            + "Host: shop.example.com\r\n"
            + "Connection: keep-alive\r\n"
            + "sec-ch-ua: \"Chromium\";v=\"156\", \"Not)A;Brand\";v=\"24\"\r\n"
            + "sec-ch-ua-mobile: ?0\r\n"
            + "sec-ch-ua-platform: \"Linux\"\r\n"
            + "Upgrade-Insecure-Requests: 1\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n"
            + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
            + "Sec-Fetch-Site: same-origin\r\n"
            + "Sec-Fetch-Mode: navigate\r\n"
            + "Sec-Fetch-User: ?1\r\n"
            + "Sec-Fetch-Dest: document\r\n"
            + "Referer: https://shop.example.com/\r\n"
            + "Accept-Encoding: gzip, deflate, br, zstd\r\n"
            + "Accept-Language: en-GB,en;q=0.9\r\n"
            + "Cookie: session=4f1c2a9e8b7d6c5a; theme=dark; consent=yes\r\n"
            + "X-Forwarded-For: 203.0.113.7\r\n"
            + "\r\n";

    private static final AsciiString PROTO = AsciiString.cached("http");
    private static final AsciiString VIA = AsciiString.cached("portico");

    private ByteBuf requestBytes;
    private EmbeddedChannel decoder;
    private HttpHeaders decoded;
    private InetAddress client;

    @Setup
    public void setUp() throws UnknownHostException {
        requestBytes = Unpooled.unreleasableBuffer(
                Unpooled.directBuffer().writeBytes(REQUEST.getBytes(StandardCharsets.US_ASCII)));
        decoder = new EmbeddedChannel(new HttpRequestDecoder());
        client = InetAddress.getByName("198.51.100.23");
        EmbeddedChannel once = new EmbeddedChannel(new HttpRequestDecoder());
        once.writeInbound(requestBytes.duplicate());
        io.netty.handler.codec.http.HttpRequest request = once.readInbound();
        decoded = request.headers();
        once.finishAndReleaseAll();
    }

    @TearDown
    public void tearDown() {
        decoder.finishAndReleaseAll();
    }

    /** Netty's HTTP/1.1 request decoder turning the request's bytes into a request object. */
    @Benchmark
    public void decodeRequestHead(Blackhole bh) {
        decoder.writeInbound(requestBytes.duplicate());
        Object msg;
        while ((msg = decoder.readInbound()) != null) {
            bh.consume(((HttpObject) msg).decoderResult());
            ReferenceCountUtil.release(msg);
        }
    }

    /** The baseline for {@link #rewriteForUpstream}: copying the decoded headers. */
    @Benchmark
    public HttpHeaders copyHeaders() {
        return new DefaultHttpHeaders().set(decoded);
    }

    /** Portico's rewrite of a request's headers for the upstream, on a copy (subtract {@link #copyHeaders}). */
    @Benchmark
    public HttpHeaders rewriteForUpstream() {
        HttpHeaders headers = new DefaultHttpHeaders().set(decoded);
        HopByHopHeaders.strip(headers);
        ForwardedHeaders.apply(headers, client, false, PROTO, "shop.example.com", true, true, true, VIA);
        return headers;
    }
}
