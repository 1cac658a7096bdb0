package io.portico.server.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.portico.server.PorticoServer;
import io.portico.server.config.AdminConfig;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The admin listener: a small HTTP/1.1 server on its own event loop (scrapes and reloads never
 * queue behind proxy traffic, nor the other way round), bound to loopback by default.
 */
public final class AdminServer implements AutoCloseable {

    private static final int MAX_REQUEST = 64 * 1024;
    private static final int IDLE_SECONDS = 60;

    private final Channel channel;
    private final AdminHandler.Auth auth;

    private AdminServer(Channel channel, AdminHandler.Auth auth) {
        this.channel = channel;
        this.auth = auth;
    }

    /**
     * Binds the admin listener.
     *
     * @throws IllegalStateException when the address cannot be bound or the token cannot be read
     */
    public static AdminServer start(AdminConfig config, PorticoServer server, EventLoopGroup loop,
                                    Class<? extends ServerChannel> channelClass) {
        AdminHandler.Auth auth = new AdminHandler.Auth(readToken(config));
        AdminHandler handler = new AdminHandler(server, auth);
        ServerBootstrap b = new ServerBootstrap()
                .group(loop)
                .channel(channelClass)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("idle", new ReadTimeoutHandler(IDLE_SECONDS));
                        ch.pipeline().addLast("http", new HttpServerCodec());
                        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_REQUEST));
                        ch.pipeline().addLast("admin", handler);
                    }
                });
        InetSocketAddress address = config.address().toResolved();
        var f = b.bind(address).awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new IllegalStateException("admin listener cannot bind " + config.address() + ": "
                    + io.portico.server.listener.ListenerBindException.reason(address, f.cause()), f.cause());
        }
        return new AdminServer(f.channel(), auth);
    }

    /**
     * The bearer token the config names, read now; null when none is configured.
     *
     * @throws IllegalStateException when the file cannot be read, or it or the variable is empty or unset
     */
    public static String readToken(AdminConfig config) {
        String token = null;
        if (config.tokenFile() != null) {
            try {
                token = Files.readString(Path.of(config.tokenFile()), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new IllegalStateException("admin.token_file: cannot read " + config.tokenFile() + ": " + e);
            }
            if (token.isEmpty()) {
                throw new IllegalStateException("admin.token_file: " + config.tokenFile() + " is empty");
            }
        } else if (config.tokenEnv() != null) {
            token = System.getenv(config.tokenEnv());
            if (token == null || token.isBlank()) {
                throw new IllegalStateException("admin.token_env: the environment variable " + config.tokenEnv()
                        + " is not set or empty");
            }
            token = token.strip();
        }
        return token;
    }

    /** Uses the token {@code config} names from now on (it may have changed on disk). */
    public void refreshToken(String token) {
        auth.set(token);
    }

    /** Whether requests must carry a bearer token. */
    public boolean tokenRequired() {
        return auth.required();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Stops accepting; requests in progress on open admin connections still get their answers. */
    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
    }
}
