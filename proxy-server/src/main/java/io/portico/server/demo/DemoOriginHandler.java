package io.portico.server.demo;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import io.netty.handler.codec.DateFormatter;

import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Answers the demo origin's few endpoints; see {@link #INDEX}. */
@ChannelHandler.Sharable
final class DemoOriginHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    static final String INDEX = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>Portico demo origin</title></head>
            <body>
            <h1>Hello from the Portico demo origin</h1>
            <p>This page came through Portico. Try:</p>
            <ul>
              <li><a href="/hello">/hello</a> &mdash; plain text</li>
              <li><a href="/api/time">/api/time</a> &mdash; JSON</li>
              <li><a href="/echo">/echo</a> &mdash; the request as the origin saw it (see X-Forwarded-For, Via, X-Request-Id)</li>
              <li><a href="/status/503">/status/503</a> &mdash; any status</li>
              <li><a href="/delay/500">/delay/500</a> &mdash; answer after 500 ms</li>
              <li><a href="/bytes/1048576">/bytes/1048576</a> &mdash; a body of that many bytes</li>
              <li><a href="/ws.html">/ws.html</a> &mdash; a WebSocket echo on /ws, through Portico</li>
            </ul>
            </body></html>
            """;

    static final String WS_PAGE = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>Portico WebSocket echo</title></head>
            <body>
            <h1>WebSocket echo through Portico</h1>
            <form id="f"><input id="m" value="hello" autocomplete="off"> <button>send</button></form>
            <pre id="log"></pre>
            <script>
            const log = t => document.getElementById('log').textContent += t + '\\n';
            const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
            ws.onopen = () => { log('open'); ws.send('hello through Portico'); };
            ws.onmessage = e => log('echo: ' + e.data);
            ws.onclose = e => log('closed ' + e.code);
            document.getElementById('f').onsubmit = e => { e.preventDefault(); ws.send(document.getElementById('m').value); };
            </script>
            </body></html>
            """;

    /** Pages that do not change while the demo origin runs: cacheable for a minute, with validators. */
    private static final String STATIC_PAGES = "public, max-age=60, stale-while-revalidate=30, stale-if-error=600";
    /** Answers that differ on every request. */
    private static final String NEVER = "no-store";
    private static final String STARTED = DateFormatter.format(new Date());

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        String path = req.uri();
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        if (path.equals("/") || path.equals("/index.html")) {
            page(ctx, req, "text/html; charset=utf-8", INDEX);
        } else if (path.equals("/ws.html")) {
            page(ctx, req, "text/html; charset=utf-8", WS_PAGE);
        } else if (path.equals("/hello")) {
            page(ctx, req, "text/plain; charset=utf-8", "Hello from the Portico demo origin\n");
        } else if (path.equals("/api/time")) {
            send(ctx, req, HttpResponseStatus.OK, "application/json",
                    "{\"time\":\"" + Instant.now() + "\",\"served_by\":\"portico-demo-origin\"}\n", NEVER);
        } else if (path.equals("/echo")) {
            send(ctx, req, HttpResponseStatus.OK, "text/plain; charset=utf-8", echo(req), NEVER);
        } else if (path.startsWith("/status/")) {
            int code = parse(path.substring(8), 200);
            code = code < 200 || code > 599 ? 400 : code;
            send(ctx, req, HttpResponseStatus.valueOf(code), "text/plain; charset=utf-8", code + "\n", NEVER);
        } else if (path.startsWith("/delay/")) {
            long ms = Math.min(60_000, Math.max(0, parse(path.substring(7), 0)));
            req.retain();
            ctx.executor().schedule(() -> {
                try {
                    send(ctx, req, HttpResponseStatus.OK, "text/plain; charset=utf-8", "waited " + ms + " ms\n",
                            "max-age=10");
                } finally {
                    req.release();
                }
            }, ms, TimeUnit.MILLISECONDS);
        } else if (path.startsWith("/bytes/")) {
            int n = Math.min(64 << 20, Math.max(0, parse(path.substring(7), 0)));
            ByteBuf body = ctx.alloc().buffer(n);
            for (int i = 0; i < n; i++) {
                body.writeByte('a' + i % 26);
            }
            FullHttpResponse r = response(ctx, req, HttpResponseStatus.OK, "application/octet-stream", body);
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=300");
            r.headers().set(HttpHeaderNames.ETAG, "\"bytes-" + n + "\"");
            write(ctx, req, r);
        } else {
            send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", "not found: " + path + "\n", NEVER);
        }
    }

    private static String echo(FullHttpRequest req) {
        StringBuilder sb = new StringBuilder();
        sb.append(req.method()).append(' ').append(req.uri()).append(' ').append(req.protocolVersion()).append('\n');
        for (Map.Entry<String, String> h : req.headers()) {
            sb.append(h.getKey()).append(": ").append(h.getValue()).append('\n');
        }
        sb.append('\n').append(req.content().toString(StandardCharsets.UTF_8));
        return sb.toString();
    }

    private static int parse(String s, int fallback) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    /**
     * A page that only changes when the demo origin restarts: cacheable, with an ETag and
     * Last-Modified, and a 304 for a matching If-None-Match (so a cache can revalidate it).
     */
    private static void page(ChannelHandlerContext ctx, FullHttpRequest req, String type, String body) {
        String etag = "\"" + Integer.toHexString(body.hashCode()) + "\"";
        String inm = req.headers().get(HttpHeaderNames.IF_NONE_MATCH);
        FullHttpResponse r;
        if (inm != null && (inm.contains(etag) || inm.trim().equals("*"))) {
            r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED, ctx.alloc().buffer(0));
            r.headers().set(HttpHeaderNames.SERVER, "portico-demo-origin");
            r.headers().set(HttpHeaderNames.DATE, DateFormatter.format(new Date()));
            HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
        } else {
            r = response(ctx, req, HttpResponseStatus.OK, type,
                    ctx.alloc().buffer().writeBytes(body.getBytes(StandardCharsets.UTF_8)));
            r.headers().set(HttpHeaderNames.LAST_MODIFIED, STARTED);
        }
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, STATIC_PAGES);
        r.headers().set(HttpHeaderNames.ETAG, etag);
        write(ctx, req, r);
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status,
                             String type, String body, String cacheControl) {
        FullHttpResponse r = response(ctx, req, status, type,
                ctx.alloc().buffer().writeBytes(body.getBytes(StandardCharsets.UTF_8)));
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, cacheControl);
        write(ctx, req, r);
    }

    private static FullHttpResponse response(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status,
                                             String type, ByteBuf body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        r.headers().set(HttpHeaderNames.SERVER, "portico-demo-origin");
        r.headers().set(HttpHeaderNames.DATE, DateFormatter.format(new Date()));
        HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
        return r;
    }

    private static void write(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse r) {
        if (!ctx.channel().isActive()) {
            r.release();
            return;
        }
        var f = ctx.writeAndFlush(r);
        if (!HttpUtil.isKeepAlive(req)) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }
}
