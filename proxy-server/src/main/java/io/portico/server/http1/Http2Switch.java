package io.portico.server.http1;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.portico.server.http2.Http2Counters;
import io.portico.server.http2.Http2Frontend;
import io.portico.server.http2.RefusedStreams;
import io.portico.server.metrics.ListenerMetrics;

/** Hands a client connection from the HTTP/1 handlers to HTTP/2 (ALPN h2, h2c prior knowledge, h2c upgrade). */
final class Http2Switch {

    /** The access log's error for a request answered 431 by the codec (as HTTP/3 logs its own). */
    private static final String HEADER_LIST_TOO_LARGE = Http2Counters.Reason.HEADER_LIST_TOO_LARGE.key();

    private Http2Switch() {
    }

    /**
     * The HTTP/2 front end for a connection whose HTTP/1 handler is {@code http1}: each stream gets
     * an exchange handler that carries the connection's TLS identity.
     */
    static Http2Frontend frontend(Http1ProxyHandler http1) {
        ListenerContext context = http1.context();
        String sni = http1.sniName();
        String subject = http1.clientSubject();
        String fingerprint = http1.clientFingerprint();
        String remote = http1.remoteText();
        return new Http2Frontend(context.config().http2(), context.http2Counters(),
                context.config().http().keepaliveRequests(), context.config().http().keepaliveTimeout(),
                context.config().http().bodyTimeout(), context.config().http().minBodyRate().bytes(), true,
                () -> new Http1ProxyHandler(context, ListenerMetrics.HTTP_2, sni, subject, fingerprint),
                new RefusedStreams() {
                    @Override
                    public void malformed() {
                        Exchange.logMalformed(context, remote, ListenerMetrics.HTTP_2,
                                MalformedStream.of(Exchange.MALFORMED_REQUEST, null), false);
                    }

                    @Override
                    public void headerListTooLarge() {
                        // As HTTP/3 logs its 431 (with no fields: the codec refused them as it decoded them).
                        Exchange.logRefused(context, remote, ListenerMetrics.HTTP_2,
                                HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                                MalformedStream.of(HEADER_LIST_TOO_LARGE, null), true);
                    }
                }, context.bufferBudget().http2WaterMark());
    }

    /** Replaces the HTTP/1 codec and handler with the HTTP/2 ones. */
    static void toHttp2(ChannelPipeline pipeline) {
        Http1ProxyHandler http1 = pipeline.get(Http1ProxyHandler.class);
        Http2Frontend frontend = frontend(http1);
        pipeline.remove(http1);
        Http1ServerInitializer.removeHttpHandlers(pipeline);
        frontend.install(pipeline);
    }
}
