package io.portico.server.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.util.NetUtil;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny authoritative DNS server on 127.0.0.1, UDP port 0, for resolver tests. It answers A
 * queries for the names it was given with the current addresses and TTL, any other type for those
 * names with no records (NODATA), and every other name with NXDOMAIN. It counts the queries per
 * name, so a test can see when the resolver asked again.
 */
public final class TestDnsServer implements AutoCloseable {

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;
    private final Map<String, List<byte[]>> addresses = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> queries = new ConcurrentHashMap<>();
    private final long ttlSeconds;

    /** A server whose answers carry {@code ttlSeconds}. */
    public TestDnsServer(long ttlSeconds) throws InterruptedException {
        this.ttlSeconds = ttlSeconds;
        this.channel = new Bootstrap()
                .group(group)
                .channel(NioDatagramChannel.class)
                .handler(new ChannelInitializer<DatagramChannel>() {
                    @Override
                    protected void initChannel(DatagramChannel ch) {
                        ch.pipeline()
                                .addLast(new DatagramDnsQueryDecoder())
                                .addLast(new DatagramDnsResponseEncoder())
                                .addLast(new Responder());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    /** The address to give a resolver, as {@code ip:port}. */
    public String hostPort() {
        InetSocketAddress a = (InetSocketAddress) channel.localAddress();
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** From now on, A queries for {@code name} are answered with {@code ipv4}. */
    public void answer(String name, String... ipv4) {
        List<byte[]> all = new ArrayList<>();
        for (String ip : ipv4) {
            byte[] bytes = NetUtil.createByteArrayFromIpAddressString(ip);
            if (bytes == null || bytes.length != 4) {
                throw new IllegalArgumentException("not an IPv4 address: " + ip);
            }
            all.add(bytes);
        }
        addresses.put(fqdn(name), List.copyOf(all));
    }

    /** Queries received for {@code name}, of any type. */
    public int queries(String name) {
        AtomicInteger n = queries.get(fqdn(name));
        return n == null ? 0 : n.get();
    }

    private static String fqdn(String name) {
        return name.endsWith(".") ? name : name + ".";
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Responder extends SimpleChannelInboundHandler<DatagramDnsQuery> {

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
            DnsQuestion question = query.recordAt(DnsSection.QUESTION);
            String name = question.name();
            queries.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
            DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
            response.setAuthoritativeAnswer(true);
            response.setRecursionDesired(query.isRecursionDesired());
            response.addRecord(DnsSection.QUESTION, new DefaultDnsQuestion(name, question.type()));
            List<byte[]> answers = addresses.get(name);
            if (answers == null) {
                response.setCode(DnsResponseCode.NXDOMAIN);
            } else if (question.type() == DnsRecordType.A) {
                for (byte[] address : answers) {
                    response.addRecord(DnsSection.ANSWER,
                            new DefaultDnsRawRecord(name, DnsRecordType.A, ttlSeconds, Unpooled.wrappedBuffer(address)));
                }
            }
            ctx.writeAndFlush(response);
        }
    }
}
