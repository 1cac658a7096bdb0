package io.portico.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.Future;

import javax.net.ssl.SSLHandshakeException;
import java.util.List;
import java.util.function.Consumer;

/**
 * Netty's {@link SniHandler}, choosing among a {@link ServerTls}'s contexts by server name and ECDSA
 * support, and failing the handshake with a fatal {@code unrecognized_name} alert for unknown names
 * when the listener rejects them. In that case downstream handlers see an
 * {@link SslHandshakeCompletionEvent} and then a {@code DecoderException}, both caused by an
 * {@link SSLHandshakeException}, and the connection closes. On an HTTP listener, a client that
 * speaks plain HTTP gets the listener's answer instead (see {@link ServerTls#newHandler(java.time.Duration, Consumer)}).
 */
final class SniSelector extends SniHandler {

    private static final int MAX_CLIENT_HELLO_LENGTH = 64 * 1024;
    /** TLS record: alert(21), TLS 1.2 record version, length 2, fatal(2), unrecognized_name(112). */
    private static final byte[] UNRECOGNIZED_NAME_ALERT = {21, 3, 3, 0, 2, 2, 112};

    private final ServerTls tls;
    /** Answers a plain HTTP request on the connection, or null (not an HTTP listener). */
    private final Consumer<ChannelHandlerContext> plainHttp;
    /** The first byte was looked at: it began a TLS record. */
    private boolean tlsSeen;
    /** The connection spoke plain HTTP and was answered: whatever else it sends is dropped. */
    private boolean plainAnswered;
    private int helloFlags;
    private ServerTls.ServerContext selected;
    private SslHandler sslHandler;

    SniSelector(ServerTls tls, AsyncMapping<String, SslContext> unusedMapping, long handshakeTimeoutMillis,
                Consumer<ChannelHandlerContext> plainHttp) {
        super(unusedMapping, MAX_CLIENT_HELLO_LENGTH, handshakeTimeoutMillis);
        this.tls = tls;
        this.plainHttp = plainHttp;
    }

    /**
     * Tells plain HTTP from TLS by the first byte: a TLS record starts with its content type (20 to
     * 24) and an SSLv2-style hello with its high bit set; an HTTP request with its method's first
     * letter. Without this, Netty's SslHandler fails the handshake on it and closes the connection
     * without a word, and the user of {@code curl http://host:443/} sees an empty reply.
     */
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (plainHttp != null && !tlsSeen && in.isReadable()) {
            if (plainAnswered) {
                in.skipBytes(in.readableBytes());
                return;
            }
            int first = in.getUnsignedByte(in.readerIndex());
            if (first >= 'A' && first <= 'Z') {
                plainAnswered = true;
                in.skipBytes(in.readableBytes());
                ctx.fireUserEventTriggered(new SslHandshakeCompletionEvent(
                        new NotSslRecordException("plain HTTP request on a TLS port")));
                plainHttp.accept(ctx);
                return;
            }
            tlsSeen = true;
        }
        super.decode(ctx, in, out);
    }

    @Override
    protected Future<SslContext> lookup(ChannelHandlerContext ctx, ByteBuf clientHello) throws Exception {
        helloFlags = ClientHello.flags(clientHello);
        return super.lookup(ctx, clientHello);
    }

    @Override
    protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) {
        String name = hostname == null ? null : ServerNames.normalise(hostname);
        if (name != null) {
            ctx.channel().attr(ServerTls.SNI_HOSTNAME).set(name);
        }
        ServerTls.ServerContext context = tls.select(name, helloFlags);
        if (context == null) {
            SSLHandshakeException failure = new SSLHandshakeException("unrecognized server name: " + name);
            ctx.fireUserEventTriggered(new SslHandshakeCompletionEvent(failure));
            ctx.writeAndFlush(Unpooled.wrappedBuffer(UNRECOGNIZED_NAME_ALERT)).addListener(ChannelFutureListener.CLOSE);
            return ctx.executor().newFailedFuture(failure);
        }
        selected = context;
        return ctx.executor().newSucceededFuture(context.context);
    }

    @Override
    protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
        SslHandler handler = super.newSslHandler(context, allocator);
        if (selected != null) {
            tls.prepare(selected, handler);
        }
        sslHandler = handler;
        return handler;
    }

    @Override
    protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext sslContext) throws Exception {
        super.replaceHandler(ctx, hostname, sslContext);
        ChannelHandlerContext sslContextHandler = sslHandler == null ? null : ctx.pipeline().context(sslHandler);
        if (sslContextHandler == null) {
            return;
        }
        ChannelHandler keyLog = tls.jdkKeyLogHandler();
        if (keyLog != null) {
            ctx.pipeline().addAfter(sslContextHandler.name(), "portico-tls-keylog", keyLog);
        }
        ChannelHandler lifetime = tls.sessionLifetimeHandler();
        if (lifetime != null && !sslHandler.handshakeFuture().isDone()) {
            ctx.pipeline().addBefore(sslContextHandler.name(), SessionLifetimeHandler.NAME, lifetime);
        }
    }
}
