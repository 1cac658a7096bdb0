package io.portico.server.http1;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.portico.server.config.ConfigLoader;
import io.portico.server.config.PorticoConfig;
import io.portico.server.limits.BufferBudget;
import io.portico.server.log.AccessLog;
import io.portico.server.metrics.ListenerMetrics;
import io.portico.server.metrics.MetricsRegistry;
import io.portico.server.metrics.ProxyMetrics;
import io.portico.server.route.Router;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Handler;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes Portico's HTTP/1.1 front end — the strict framing check, Netty's decoder, the deadlines
 * and the proxy handler — through an {@link EmbeddedChannel} with the real pipeline. Whatever the
 * bytes, in one or two reads: no exception escapes or is logged, no buffer leaks (the leak
 * detector runs at paranoid), and every answer is a well-formed response whose status is either
 * the route's own 200 (the request passed every check and would have been forwarded; a fixed
 * response stands in for the upstream, which an EmbeddedChannel cannot reach) or a client error
 * Portico chose.
 *
 * <p>In CI (no {@code JAZZER_FUZZ}) only the seeds under {@code Http1ParsingFuzzTestInputs/} and
 * any findings committed next to them run (about 10 s, most of it Jazzer starting). To fuzz:
 * {@code JAZZER_FUZZ=1 mvn -pl proxy-server -am test -Dtest=Http1ParsingFuzzTest -Djazzer.hooks=true
 * -Dsurefire.failIfNoSpecifiedTests=false} (maxDuration below; findings land in the inputs folder).
 *
 * <p>The Cache-Control parser has its own fuzz target, {@code io.portico.http.cache.CacheControlFuzzTest}.
 */
class Http1ParsingFuzzTest {

    /** 200 is the route's fixed answer: the request passed every check and would have been forwarded. */
    private static final Set<Integer> ALLOWED = Set.of(100, 200, 400, 404, 405, 408, 413, 414, 417, 431, 501, 505);

    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.1 (\\d{3}) [^\r\n]*\r\n");
    private static final Pattern CONTENT_LENGTH = Pattern.compile("(?i)\r\ncontent-length: (\\d+)");
    private static final SocketAddress CLIENT = new InetSocketAddress("192.0.2.7", 40_000);
    private static ListenerContext context;
    private static AccessLog accessLog;
    private static final List<LogRecord> logged = new ArrayList<>();
    private static final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                synchronized (logged) {
                    logged.add(record);
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeAll
    static void setUp() throws Exception {
        PorticoConfig config = ConfigLoader.parse("fuzz.yaml", """
                listeners:
                  - name: http
                    address: 127.0.0.1:0
                    http:
                      max_request_line: 1k
                      max_header_size: 4k
                      max_headers: 32
                access_log:
                  enabled: false
                servers:
                  - max_body_size: 4k
                    routes:
                      - match: { path: /forbidden-method }
                        respond: { status: 200, body: "ok" }
                        methods: [GET]
                      - match: { prefix: / }
                        respond: { status: 200, body: "ok" }
                """);
        accessLog = AccessLog.open(config.accessLog());
        // No route caches, and nothing here scrapes the metrics (so they need no event loops).
        Router router = Router.build(config.servers(), "http", Map.of(), null);
        ListenerMetrics metrics = new ProxyMetrics(new MetricsRegistry(), List::of, null).listener("http");
        context = new ListenerContext(config.listeners().get(0), router, config.forwarding(), accessLog,
                new ServerLifecycle(), null, metrics, new BufferBudget(0, 64 * 1024, 1024 * 1024, java.util.List.of()));
        Logger.getLogger("portico").addHandler(capture);
    }

    @AfterAll
    static void tearDown() throws Exception {
        Logger.getLogger("portico").removeHandler(capture);
        accessLog.close();
    }

    @FuzzTest(maxDuration = "60s")
    void anyBytesGetAWellFormedAnswerAndNothingEscapes(FuzzedDataProvider data) {
        byte[] first = data.consumeBytes(data.consumeInt(0, 8192));
        byte[] second = data.consumeRemainingAsBytes();
        EmbeddedChannel ch = new EmbeddedChannel(new Http1ServerInitializer(context)) {
            @Override
            protected SocketAddress remoteAddress0() {
                // Portico's listeners are TCP: the client has an IP address.
                return CLIENT;
            }
        };
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(first));
            ch.runPendingTasks();
            if (ch.isOpen() && second.length > 0) {
                ch.writeInbound(Unpooled.wrappedBuffer(second));
                ch.runPendingTasks();
            }
            ch.checkException();
            List<Integer> statuses = responses(ch);
            assertThat(statuses).allSatisfy(s -> assertThat(ALLOWED).as("status %d", s).contains(s));
            synchronized (logged) {
                assertThat(logged).as("warnings logged").isEmpty();
            }
        } finally {
            ch.finishAndReleaseAll();
            ch.close();
        }
    }

    /**
     * Reads everything Portico wrote as a sequence of responses and returns their statuses. Each must
     * have a valid status line and a Content-Length (Portico's own answers always do); the body is
     * either that long or, for an answer to HEAD, absent.
     */
    private static List<Integer> responses(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        try {
            Object out;
            while ((out = ch.readOutbound()) != null) {
                if (out instanceof ByteBuf buf) {
                    all.writeBytes(buf);
                }
                ReferenceCountUtil.release(out);
            }
            String text = all.toString(StandardCharsets.ISO_8859_1);
            List<Integer> statuses = new ArrayList<>();
            int p = 0;
            while (p < text.length()) {
                Matcher m = STATUS_LINE.matcher(text).region(p, text.length());
                assertThat(m.lookingAt()).as("a status line at %d in %s", p, text).isTrue();
                int headEnd = text.indexOf("\r\n\r\n", p);
                assertThat(headEnd).as("a complete head").isPositive();
                String head = text.substring(p, headEnd);
                int status = Integer.parseInt(m.group(1));
                statuses.add(status);
                if (status < 200) {
                    // 100 Continue: a head alone.
                    p = headEnd + 4;
                    continue;
                }
                Matcher length = CONTENT_LENGTH.matcher(head);
                assertThat(length.find()).as("Content-Length in %s", head).isTrue();
                int bodyStart = headEnd + 4;
                int withBody = bodyStart + Integer.parseInt(length.group(1));
                p = withBody <= text.length() && (withBody == text.length() || text.startsWith("HTTP/1.1 ", withBody))
                        ? withBody : bodyStart;
            }
            return statuses;
        } finally {
            all.release();
        }
    }
}
