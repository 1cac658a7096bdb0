package io.portico.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;

/** The pipeline of one upstream HTTP/2 stream: HTTP/1.x objects to frames and back, then the stream's state. */
@ChannelHandler.Sharable
final class Http2StreamInitializer extends ChannelInitializer<Channel> {

    private final Http2UpstreamConnection connection;

    Http2StreamInitializer(Http2UpstreamConnection connection) {
        this.connection = connection;
    }

    @Override
    protected void initChannel(Channel ch) {
        ch.pipeline()
                .addLast("http", new Http2ClientStreamCodec(connection.tls()))
                .addLast("upstream", new Http2UpstreamStream(connection));
    }
}
