package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;

/** The pipeline of a connection to a backend: the HTTP/1.1 client codec and the connection's state. */
final class UpstreamChannelInitializer extends ChannelInitializer<Channel> {

    static final int MAX_STATUS_LINE = 8 * 1024;
    static final int MAX_HEADER_SIZE = 64 * 1024;
    static final int MAX_CHUNK = 64 * 1024;

    private final ConnectionPool pool;

    UpstreamChannelInitializer(ConnectionPool pool) {
        this.pool = pool;
    }

    @Override
    protected void initChannel(Channel ch) {
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_STATUS_LINE)
                .setMaxHeaderSize(MAX_HEADER_SIZE)
                .setMaxChunkSize(MAX_CHUNK)
                .setValidateHeaders(true);
        ch.pipeline()
                .addLast("http", new HttpClientCodec(decoder, false, false))
                .addLast("upstream", new UpstreamConnection(pool));
    }
}
