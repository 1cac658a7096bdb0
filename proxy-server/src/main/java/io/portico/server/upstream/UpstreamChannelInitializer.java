package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.portico.http.FramingGuard;
import io.portico.tls.ClientTls;

/**
 * The pipeline of a connection to a backend: the strict framing check, the HTTP/1.1 client codec
 * and the connection's state.
 */
public final class UpstreamChannelInitializer extends ChannelInitializer<Channel> {

    private static final String FRAMING = "framing";
    private static final String FRAMING_REQUESTS = "framing-requests";
    static final int MAX_STATUS_LINE = 8 * 1024;
    static final int MAX_HEADER_SIZE = 64 * 1024;
    static final int MAX_CHUNK = 64 * 1024;
    /** Every upstream connection's decoder (Netty copies the values), behind its UpstreamFramingGuard. */
    private static final HttpDecoderConfig DECODER = FramingGuard.behindGuard(new HttpDecoderConfig()
            .setMaxInitialLineLength(MAX_STATUS_LINE)
            .setMaxHeaderSize(MAX_HEADER_SIZE)
            .setMaxChunkSize(MAX_CHUNK));

    private final ConnectionPool pool;
    private final ClientTls tls;
    private final String sni;

    /** @param tls the group's client TLS, or null for plain HTTP; @param sni the server name to send */
    UpstreamChannelInitializer(ConnectionPool pool, ClientTls tls, String sni) {
        this.pool = pool;
        this.tls = tls;
        this.sni = sni;
    }

    /**
     * Takes the framing check out of a connection that stopped carrying HTTP (after a 101): it
     * would pass every byte on anyway, at the cost of two pipeline steps per read and write.
     */
    public static void removeFramingGuard(ChannelPipeline pipeline) {
        if (pipeline.get(FRAMING_REQUESTS) != null) {
            pipeline.remove(FRAMING_REQUESTS);
        }
        if (pipeline.get(FRAMING) != null) {
            pipeline.remove(FRAMING);
        }
    }

    @Override
    protected void initChannel(Channel ch) {
        if (tls != null) {
            // Requests written before the handshake ends wait inside the SslHandler.
            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), sni, pool.backend().config().address().port()));
        }
        UpstreamFramingGuard framing = new UpstreamFramingGuard();
        ch.pipeline()
                .addLast(FRAMING, framing)
                .addLast("http", new HttpClientCodec(DECODER, false, false))
                .addLast(FRAMING_REQUESTS, framing.requestWatcher())
                .addLast("upstream", new UpstreamConnection(pool));
    }
}
