package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.portico.http.CidrSet;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The first handler of a listener that accepts the PROXY protocol. From a trusted peer the header
 * is required: this handler holds back {@code channelActive} until Netty's
 * {@link HAProxyMessageDecoder} has read it (v1 or v2), records the addresses it carries in
 * {@link ClientAddress}, and then lets the connection start as if the client had connected
 * directly. From anyone else, a connection whose first bytes are a PROXY header is closed (a
 * client must not choose its own address); other bytes pass untouched and the handler leaves.
 * First bytes too few to tell (say {@code \r\n}, or {@code PROX}) are held until more come, or
 * until the input ends: they can no longer become a header then, and pass on before the end.
 *
 * <p>Channels run with {@code AUTO_READ} off, so the handler asks for the reads it needs itself.
 */
public final class ProxyProtocolHandler extends ChannelInboundHandlerAdapter {

    /** Fired before closing a connection whose PROXY header was not accepted, so the log can say why. */
    public static final Object REJECTED = new Object() {
        @Override
        public String toString() {
            return "PROXY_PROTOCOL_REJECTED";
        }
    };

    private static final byte[] V1_PREFIX = {'P', 'R', 'O', 'X', 'Y', ' '};
    private static final byte[] V2_PREFIX = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private final CidrSet trusted;
    private final long timeoutMillis;
    private boolean trustedPeer;
    private ByteBuf held;
    private ScheduledFuture<?> timeout;

    /** @param timeoutMillis how long a trusted peer may take to send its header */
    public ProxyProtocolHandler(CidrSet trusted, long timeoutMillis) {
        this.trusted = trusted;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        trustedPeer = peer != null && peer.getAddress() != null && trusted.contains(peer.getAddress());
        if (!trustedPeer) {
            ctx.fireChannelActive();
            return;
        }
        ctx.pipeline().addBefore(ctx.name(), "proxy-protocol-decoder", new HAProxyMessageDecoder());
        timeout = ctx.executor().schedule(() -> reject(ctx), timeoutMillis, TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HAProxyMessage header) {
            try {
                record(ctx, header);
            } finally {
                header.release();
            }
            timeout.cancel(false);
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
            return;
        }
        if (trustedPeer || !(msg instanceof ByteBuf buf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ByteBuf in = buf;
        if (held != null) {
            held.writeBytes(buf);
            buf.release();
            in = held;
        }
        int verdict = sniff(in);
        if (verdict == 0 && in != held) {
            // Too few bytes to tell: keep them in a buffer of our own, so the rest can be appended.
            held = ctx.alloc().buffer(in.readableBytes() + V2_PREFIX.length);
            held.writeBytes(in);
            in.release();
        } else if (verdict == 1) {
            if (in != held) {
                in.release();
            }
            reject(ctx);
        } else if (verdict == -1) {
            held = null;
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(in);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (held != null || (trustedPeer && timeout != null && !timeout.isDone())) {
            // Still deciding: nobody downstream has seen data, so nobody else will ask for more.
            ctx.read();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof HAProxyProtocolException) {
            reject(ctx);
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent && held != null) {
            passHeld(ctx);
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (held != null) {
            passHeld(ctx);
        }
        if (timeout != null) {
            timeout.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    /**
     * The input ended while the first bytes were too few to tell: nothing can follow to make them a
     * header, so they are the client's data. (Passing them on after a delay instead would let a
     * header split around that delay through.)
     */
    private void passHeld(ChannelHandlerContext ctx) {
        ByteBuf in = held;
        held = null;
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(in);
        ctx.fireChannelReadComplete();
    }

    private void release() {
        if (held != null) {
            ReferenceCountUtil.safeRelease(held);
            held = null;
        }
    }

    private void reject(ChannelHandlerContext ctx) {
        release();
        if (timeout != null) {
            timeout.cancel(false);
        }
        ctx.fireUserEventTriggered(REJECTED);
        ctx.close();
    }

    /** 1 when the bytes start a PROXY header, -1 when they cannot, 0 when too few to tell. */
    private static int sniff(ByteBuf in) {
        int v1 = matches(in, V1_PREFIX);
        int v2 = matches(in, V2_PREFIX);
        if (v1 == 1 || v2 == 1) {
            return 1;
        }
        return v1 == -1 && v2 == -1 ? -1 : 0;
    }

    private static int matches(ByteBuf in, byte[] prefix) {
        int n = Math.min(in.readableBytes(), prefix.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != prefix[i]) {
                return -1;
            }
        }
        return n == prefix.length ? 1 : 0;
    }

    private static void record(ChannelHandlerContext ctx, HAProxyMessage header) {
        // LOCAL is the balancer's own health check; UNKNOWN and UNIX carry nothing to use.
        if (header.command() != HAProxyCommand.PROXY) {
            return;
        }
        HAProxyProxiedProtocol.AddressFamily family = header.proxiedProtocol().addressFamily();
        if (family != HAProxyProxiedProtocol.AddressFamily.AF_IPv4 && family != HAProxyProxiedProtocol.AddressFamily.AF_IPv6) {
            return;
        }
        InetAddress source = NetUtil.createInetAddressFromIpAddressString(header.sourceAddress());
        InetAddress destination = NetUtil.createInetAddressFromIpAddressString(header.destinationAddress());
        if (source != null) {
            ctx.channel().attr(ClientAddress.SOURCE).set(new InetSocketAddress(source, header.sourcePort()));
        }
        if (destination != null) {
            ctx.channel().attr(ClientAddress.DESTINATION).set(new InetSocketAddress(destination, header.destinationPort()));
        }
    }
}
