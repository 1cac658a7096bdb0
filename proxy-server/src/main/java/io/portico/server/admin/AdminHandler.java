package io.portico.server.admin;

import java.util.ArrayList;
import java.util.List;
import io.portico.http.cache.CacheStats;
import io.portico.http.cache.HttpCache;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.portico.server.PorticoServer;
import io.portico.server.ReloadResult;
import io.portico.server.config.ConfigView;
import io.portico.server.metrics.MetricsRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Answers admin requests: {@code GET /metrics}, {@code /status}, {@code /upstreams},
 * {@code /config}, {@code /api/dashboard}, {@code /ui}, and {@code POST /reload}. With a token
 * configured every request but the dashboard page itself (static, no data in it) needs
 * {@code Authorization: Bearer TOKEN}; the page asks for the token and sends it with its polls.
 * A request other than GET or HEAD that a browser marks as coming from another site is refused
 * with 403 ({@link CrossSiteGuard}).
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final System.Logger LOG = System.getLogger("portico");
    private static final String JSON = "application/json; charset=utf-8";
    /**
     * Requests that arrived on a connection while its reload is running: answered after the
     * reload's response, so pipelined requests are answered in order.
     */
    private static final AttributeKey<ArrayDeque<FullHttpRequest>> WAITING = AttributeKey.valueOf("portico.admin.waiting");

    /** The bearer token, replaceable on reload. */
    static final class Auth {
        private volatile byte[] token;

        Auth(String token) {
            set(token);
        }

        void set(String t) {
            token = t == null ? null : t.getBytes(StandardCharsets.UTF_8);
        }

        boolean required() {
            return token != null;
        }

        boolean accepts(String authorization) {
            byte[] expected = token;
            if (expected == null) {
                return true;
            }
            if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return false;
            }
            byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
            // Constant time, so response timing does not reveal how much of a guess was right.
            return MessageDigest.isEqual(expected, given);
        }
    }

    private final PorticoServer server;
    private final Auth auth;
    private final AdminViews views;
    private final byte[] dashboard;

    AdminHandler(PorticoServer server, Auth auth) {
        this.server = server;
        this.auth = auth;
        this.views = new AdminViews(server);
        this.dashboard = resource("dashboard.html");
    }

    private static byte[] resource(String name) {
        try (InputStream in = AdminHandler.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        ArrayDeque<FullHttpRequest> waiting = ctx.channel().attr(WAITING).get();
        if (waiting != null) {
            waiting.add(req.retain());
            return;
        }
        handle(ctx, req);
    }

    /** After a reload's response: answers what waited behind it, in order, until the next reload if any. */
    private void resume(ChannelHandlerContext ctx, ArrayDeque<FullHttpRequest> waiting) {
        FullHttpRequest next;
        while ((next = waiting.poll()) != null) {
            ArrayDeque<FullHttpRequest> again = ctx.channel().attr(WAITING).get();
            if (again != null) {
                // A queued request started another reload: the rest waits for that one.
                again.add(next);
                continue;
            }
            try {
                if (ctx.channel().isActive()) {
                    handle(ctx, next);
                }
            } finally {
                next.release();
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ArrayDeque<FullHttpRequest> waiting = ctx.channel().attr(WAITING).getAndSet(null);
        if (waiting != null) {
            waiting.forEach(FullHttpRequest::release);
        }
        ctx.fireChannelInactive();
    }

    private void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (!req.decoderResult().isSuccess()) {
            send(ctx, false, text(HttpResponseStatus.BAD_REQUEST, "bad request\n"));
            return;
        }
        String uri = req.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        HttpMethod method = req.method();
        if (path.equals("/ui") || path.equals("/ui/")) {
            if (!isGet(method)) {
                send(ctx, keepAlive, notAllowed("GET"));
                return;
            }
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(dashboard));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
            r.headers().set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                    + "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:");
            send(ctx, keepAlive, r);
            return;
        }
        if (!isGet(method)) {
            // Token or not: a page in the operator's browser must not purge or reload (CSRF).
            String refusal = CrossSiteGuard.refusal(req.headers());
            if (refusal != null) {
                send(ctx, keepAlive, json(HttpResponseStatus.FORBIDDEN, Map.of("error", refusal)));
                return;
            }
        }
        if (!auth.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            FullHttpResponse r = json(HttpResponseStatus.UNAUTHORIZED, Map.of("error", "a bearer token is required"));
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"portico-admin\"");
            send(ctx, keepAlive, r);
            return;
        }
        switch (path) {
            case "/metrics" -> {
                if (isGet(method)) {
                    send(ctx, keepAlive, metrics(ctx));
                } else {
                    send(ctx, keepAlive, notAllowed("GET"));
                }
            }
            case "/status" -> get(ctx, keepAlive, method, views::status);
            case "/upstreams" -> get(ctx, keepAlive, method, views::upstreams);
            case "/config" -> get(ctx, keepAlive, method, () -> ConfigView.of(server.config()));
            case "/api/dashboard" -> get(ctx, keepAlive, method, views::dashboard);
            case "/reload" -> {
                if (!HttpMethod.POST.equals(method)) {
                    send(ctx, keepAlive, notAllowed("POST"));
                    return;
                }
                LOG.log(System.Logger.Level.INFO, "reload requested through the admin API from "
                        + ctx.channel().remoteAddress());
                ctx.channel().attr(WAITING).set(new ArrayDeque<>(2));
                server.reloadAsync().whenComplete((result, error) -> {
                    FullHttpResponse r = error != null
                            ? json(HttpResponseStatus.INTERNAL_SERVER_ERROR, Map.of("ok", false, "error", String.valueOf(error)))
                            : json(result.ok() ? HttpResponseStatus.OK : HttpResponseStatus.UNPROCESSABLE_ENTITY,
                            reloadJson(result));
                    ctx.executor().execute(() -> {
                        ArrayDeque<FullHttpRequest> waiting = ctx.channel().attr(WAITING).getAndSet(null);
                        if (!ctx.channel().isActive()) {
                            r.release();
                            if (waiting != null) {
                                waiting.forEach(FullHttpRequest::release);
                            }
                            return;
                        }
                        send(ctx, keepAlive, r);
                        if (waiting != null) {
                            resume(ctx, waiting);
                        }
                    });
                });
            }
            case "/cache" -> get(ctx, keepAlive, method, this::cacheStats);
            case "/cache/purge" -> {
                if (!HttpMethod.POST.equals(method)) {
                    send(ctx, keepAlive, notAllowed("POST"));
                    return;
                }
                Map<String, List<String>> parameters;
                try {
                    parameters = new QueryStringDecoder(uri).parameters();
                } catch (IllegalArgumentException malformed) {
                    // A bad %-escape: the decoder throws, which closed the connection without an answer.
                    send(ctx, keepAlive, json(HttpResponseStatus.BAD_REQUEST,
                            Map.of("error", "malformed query string: " + malformed.getMessage())));
                    return;
                }
                if (parameters.values().stream().flatMap(List::stream).anyMatch(v -> v.indexOf('\uFFFD') >= 0)) {
                    // Escapes that are not UTF-8 decode to U+FFFD: a purge by that would name nothing anybody stored.
                    send(ctx, keepAlive, json(HttpResponseStatus.BAD_REQUEST,
                            Map.of("error", "the query string's escapes are not UTF-8")));
                    return;
                }
                send(ctx, keepAlive, purge(parameters));
            }
            case "/", "" -> get(ctx, keepAlive, method, () -> Map.of("endpoints",
                    java.util.List.of("/metrics", "/status", "/upstreams", "/config", "/ui", "/api/dashboard",
                            "POST /reload", "/cache", "POST /cache/purge?url=|prefix=|tag=|all=true")));
            default -> send(ctx, keepAlive, json(HttpResponseStatus.NOT_FOUND, Map.of("error", "no such admin endpoint")));
        }
    }

    /** The cache's counters since start and its sizes now. */
    private Map<String, Object> cacheStats() {
        CacheStats.Snapshot s = server.cache().stats();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("hits", s.hits());
        m.put("misses", s.misses());
        m.put("stale_served", s.staleServed());
        m.put("revalidated", s.revalidated());
        m.put("collapsed", s.collapsed());
        m.put("stored", s.stored());
        m.put("bypassed", s.bypassed());
        m.put("evicted", s.evicted());
        m.put("purged", s.purged());
        m.put("bytes_served", s.bytesServed());
        m.put("memory", Map.of("bytes", s.storedBytes(), "objects", s.objects()));
        m.put("disk", Map.of("bytes", s.diskBytes(), "objects", s.diskObjects()));
        return m;
    }

    /**
     * Purges by exactly one of {@code url} (every variant of it), {@code prefix} (of the URL),
     * {@code tag} (from {@code Surrogate-Key}/{@code Cache-Tag}) or {@code all=true}; the URL is
     * as the cache keys it by default: {@code scheme://host/path?query}.
     */
    private FullHttpResponse purge(Map<String, List<String>> params) {
        List<String> given = new ArrayList<>();
        for (String k : List.of("url", "prefix", "tag", "all")) {
            if (params.containsKey(k)) {
                given.add(k);
            }
        }
        if (given.size() != 1 || params.get(given.get(0)).size() != 1 || params.get(given.get(0)).get(0).isEmpty()) {
            return json(HttpResponseStatus.BAD_REQUEST,
                    Map.of("error", "give exactly one of url=, prefix=, tag= or all=true"));
        }
        String by = given.get(0);
        String value = params.get(by).get(0);
        HttpCache cache = server.cache();
        int purged = switch (by) {
            case "url" -> cache.purgeUrl(value);
            case "prefix" -> cache.purgePrefix(value);
            case "tag" -> cache.purgeTag(value);
            default -> {
                if (!value.equals("true")) {
                    yield -1;
                }
                yield cache.purgeAll();
            }
        };
        if (purged < 0) {
            return json(HttpResponseStatus.BAD_REQUEST, Map.of("error", "all= takes only true"));
        }
        LOG.log(System.Logger.Level.INFO, "cache purge by " + by + " " + value + ": " + purged + " objects");
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("purged", purged);
        body.put("by", by);
        body.put("value", value);
        return json(HttpResponseStatus.OK, body);
    }

    private static Map<String, Object> reloadJson(ReloadResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", r.ok());
        m.put("generation", r.generation());
        if (r.error() != null) {
            m.put("error", r.error());
        }
        m.put("changes", r.changes());
        m.put("warnings", r.warnings());
        return m;
    }

    private static boolean isGet(HttpMethod m) {
        return HttpMethod.GET.equals(m) || HttpMethod.HEAD.equals(m);
    }

    private void get(ChannelHandlerContext ctx, boolean keepAlive, HttpMethod method,
                     java.util.function.Supplier<Object> body) {
        if (!isGet(method)) {
            send(ctx, keepAlive, notAllowed("GET"));
            return;
        }
        send(ctx, keepAlive, json(HttpResponseStatus.OK, body.get()));
    }

    private FullHttpResponse metrics(ChannelHandlerContext ctx) {
        ByteBuf buf = ctx.alloc().buffer(16 * 1024);
        try (ByteBufOutputStream out = new ByteBufOutputStream(buf)) {
            server.registry().writeText(out);
        } catch (IOException | RuntimeException e) {
            buf.release();
            LOG.log(System.Logger.Level.WARNING, "metrics scrape failed", e);
            return text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "metrics scrape failed: " + e + "\n");
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, buf);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, MetricsRegistry.CONTENT_TYPE);
        return r;
    }

    private static FullHttpResponse notAllowed(String allow) {
        FullHttpResponse r = json(HttpResponseStatus.METHOD_NOT_ALLOWED, Map.of("error", "use " + allow));
        r.headers().set(HttpHeaderNames.ALLOW, allow.equals("GET") ? "GET, HEAD" : allow);
        return r;
    }

    static FullHttpResponse json(HttpResponseStatus status, Object body) {
        byte[] bytes = (Json.write(body) + "\n").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return r;
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        return r;
    }

    private static void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse r) {
        HttpUtil.setContentLength(r, r.content().readableBytes());
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(r);
        } else {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            LOG.log(System.Logger.Level.WARNING, "admin connection error", cause);
        }
        ctx.close();
    }
}
