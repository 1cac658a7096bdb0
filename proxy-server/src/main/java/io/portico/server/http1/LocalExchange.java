package io.portico.server.http1;

import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.portico.server.config.FixedResponseConfig;
import io.portico.server.log.AccessLogRecord;
import io.portico.server.route.HeaderRules;
import io.portico.server.route.Route;

/**
 * A request Portico answers itself. The answer is written at once; a small request body is read
 * and dropped so the connection can carry the next request, anything else closes the connection.
 */
final class LocalExchange extends Exchange {

    /** Bodies up to this size are read and dropped to keep the connection; larger ones close it. */
    private static final long DISCARD_LIMIT = 64 * 1024;

    private final boolean keepAlive;
    private final FullHttpResponse response;
    private final HeaderRules responseHeaders;
    private final String error;
    private ChannelFuture written;
    private boolean complete;
    /** The request's last part arrived. */
    private boolean bodyEnded;
    private boolean expectContinue;

    private LocalExchange(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log,
                          FullHttpResponse response, HeaderRules responseHeaders, boolean mayKeepAlive, String error) {
        super(client, request, log);
        long length = HttpUtil.getContentLength(request, 0L);
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        this.keepAlive = mayKeepAlive && HttpUtil.isKeepAlive(request) && client.connectionReusable()
                && !chunked && length <= DISCARD_LIMIT;
        this.response = response;
        this.responseHeaders = responseHeaders;
        this.error = error;
    }

    /**
     * The client waits for 100 Continue before it sends the body: sent when this exchange reads the
     * body (a small one, dropped to keep the connection), not when it closes without reading it —
     * a body asked for and then left unread resets the connection under the answer.
     */
    LocalExchange continueIfReading(boolean expectContinue) {
        this.expectContinue = expectContinue;
        return this;
    }

    @Override
    void begin() {
        if (expectContinue && keepAlive) {
            client.ctx().write(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        }
        responseHeaders.apply(response.headers());
        LocalResponses.markClose(response, keepAlive, http10);
        decorate(response);
        int status = response.status().code();
        long bytes = response.content().readableBytes();
        written = client.ctx().writeAndFlush(response);
        finishLog(status, bytes, error);
        if (!keepAlive) {
            complete = true;
            client.exchangeDone(false, written);
        }
    }

    static LocalExchange error(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log,
                               HttpResponseStatus status, String reason) {
        FullHttpResponse r = LocalResponses.error(client.ctx().alloc(), status, log.requestId,
                HttpMethod.HEAD.equals(request.method()));
        // After a framing or size error the rest of the request cannot be trusted: close.
        int code = status.code();
        boolean mayKeepAlive = code == 403 || code == 404 || code == 405 || code == 429;
        return new LocalExchange(client, request, log, r, HeaderRules.NONE, mayKeepAlive, reason);
    }

    static LocalExchange redirect(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log,
                                  Route route, String location) {
        FullHttpResponse r = LocalResponses.redirect(client.ctx().alloc(), route.redirectStatus(), location,
                HttpMethod.HEAD.equals(request.method()));
        return new LocalExchange(client, request, log, r, route.responseHeaders(), true, null);
    }

    static LocalExchange fixed(Http1ProxyHandler client, HttpRequest request, AccessLogRecord log, Route route) {
        FixedResponseConfig config = route.respond();
        FullHttpResponse r = LocalResponses.text(client.ctx().alloc(), HttpResponseStatus.valueOf(config.status()),
                config.body(), config.contentType(), HttpMethod.HEAD.equals(request.method()));
        return new LocalExchange(client, request, log, r, route.responseHeaders(), true, null);
    }

    /** Lets the caller add headers to the answer before it is written (426 names the version it wants). */
    void headers(java.util.function.Consumer<io.netty.handler.codec.http.HttpHeaders> edit) {
        edit.accept(response.headers());
    }

    @Override
    boolean requestComplete() {
        return complete;
    }

    /** Answered without its body (complete is set as the connection closes): what announced one left it unread. */
    @Override
    boolean bodyUnread() {
        return !bodyEnded && !RequestHeadChecks.announcesNoBody(request);
    }

    @Override
    void onRequestContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        content.release();
        bodyEnded |= last;
        if (last && !complete) {
            complete = true;
            client.exchangeDone(keepAlive, written);
        }
    }

    @Override
    boolean wantsRequestBytes() {
        return !complete;
    }

    @Override
    void onRequestReadComplete() {
    }

    @Override
    void onClientWritabilityChanged(boolean writable) {
    }

    @Override
    void onClientClosed() {
    }
}
