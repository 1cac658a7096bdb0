package io.portico.server.l4;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.util.NetUtil;
import io.portico.server.config.ProxyProtocolVersion;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Encodes the PROXY protocol header Portico sends first on a backend connection
 * (<a href="https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt">proxy-protocol.txt</a>).
 * Addresses of different families cannot share one header, so such a pair is sent as
 * {@code UNKNOWN} (v1) or {@code UNSPEC} (v2), which tells the backend to use the socket's own.
 */
public final class ProxyHeaders {

    private static final byte[] V2_SIGNATURE = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    /** Version 2, command PROXY. */
    private static final int V2_PROXY = 0x21;
    private static final int V2_TCP4 = 0x11;
    private static final int V2_TCP6 = 0x21;
    private static final int V2_UNSPEC = 0x00;

    private ProxyHeaders() {
    }

    /** The header for a connection from {@code source} to {@code destination}; null for {@link ProxyProtocolVersion#OFF}. */
    public static ByteBuf encode(ProxyProtocolVersion version, InetSocketAddress source, InetSocketAddress destination,
                                 ByteBufAllocator alloc) {
        InetAddress src = source == null ? null : source.getAddress();
        InetAddress dst = destination == null ? null : destination.getAddress();
        boolean known = src != null && dst != null && (src instanceof Inet4Address) == (dst instanceof Inet4Address);
        switch (version) {
            case V1: {
                ByteBuf out = alloc.buffer(108);
                if (!known) {
                    ByteBufUtil.writeAscii(out, "PROXY UNKNOWN\r\n");
                    return out;
                }
                ByteBufUtil.writeAscii(out, src instanceof Inet4Address ? "PROXY TCP4 " : "PROXY TCP6 ");
                ByteBufUtil.writeAscii(out, NetUtil.toAddressString(src));
                out.writeByte(' ');
                ByteBufUtil.writeAscii(out, NetUtil.toAddressString(dst));
                out.writeByte(' ');
                ByteBufUtil.writeAscii(out, Integer.toString(source.getPort()));
                out.writeByte(' ');
                ByteBufUtil.writeAscii(out, Integer.toString(destination.getPort()));
                ByteBufUtil.writeAscii(out, "\r\n");
                return out;
            }
            case V2: {
                byte[] s = known ? src.getAddress() : null;
                byte[] d = known ? dst.getAddress() : null;
                int addressLength = known ? s.length * 2 + 4 : 0;
                ByteBuf out = alloc.buffer(16 + addressLength);
                out.writeBytes(V2_SIGNATURE);
                out.writeByte(V2_PROXY);
                out.writeByte(!known ? V2_UNSPEC : s.length == 4 ? V2_TCP4 : V2_TCP6);
                out.writeShort(addressLength);
                if (known) {
                    out.writeBytes(s);
                    out.writeBytes(d);
                    out.writeShort(source.getPort());
                    out.writeShort(destination.getPort());
                }
                return out;
            }
            default:
                return null;
        }
    }
}
