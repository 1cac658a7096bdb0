package io.portico.http;

import io.netty.util.NetUtil;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable set of IPv4 and IPv6 address ranges, asked once per connection or request
 * whether a peer belongs to it (trusted proxies, allow lists). Safe to share between threads.
 *
 * <p>An IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}) is treated as the IPv4 address it
 * carries, both in the ranges and in the addresses asked about.
 */
public final class CidrSet {

    /** The set that contains nothing. */
    public static final CidrSet EMPTY = new CidrSet(new int[0], new long[0], List.of());

    /*
     * Inet4Address.hashCode() has returned the address as an int since JDK 1.0; using it avoids
     * the array copy getAddress() makes on every call. Checked once, so a JDK that changes it
     * only costs the copy.
     */
    private static final boolean HASH_CODE_IS_ADDRESS = hashCodeIsAddress();

    /** Pairs of (network, mask). */
    private final int[] v4;
    /** Quadruples of (network high, network low, mask high, mask low). */
    private final long[] v6;
    private final List<String> entries;

    private CidrSet(int[] v4, long[] v6, List<String> entries) {
        this.v4 = v4;
        this.v6 = v6;
        this.entries = entries;
    }

    /**
     * Parses ranges such as {@code 10.0.0.0/8}, {@code 192.168.1.7}, {@code ::1/128} or
     * {@code 2001:db8::/32}. A bare address is a range of one; bits past the prefix are ignored.
     *
     * @throws IllegalArgumentException naming the first entry that is not a range
     */
    public static CidrSet parse(List<String> cidrs) {
        if (cidrs.isEmpty()) {
            return EMPTY;
        }
        int[] v4 = new int[cidrs.size() * 2];
        long[] v6 = new long[cidrs.size() * 4];
        int v4Count = 0;
        int v6Count = 0;
        List<String> entries = new ArrayList<>(cidrs.size());
        for (String cidr : cidrs) {
            if (cidr == null) {
                throw new IllegalArgumentException("invalid CIDR 'null'");
            }
            String text = cidr.strip();
            int slash = text.indexOf('/');
            String address = slash < 0 ? text : text.substring(0, slash);
            if (address.indexOf('%') >= 0 || address.indexOf('[') >= 0) {
                throw invalid(cidr, "not an IP address");
            }
            byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
            if (bytes == null) {
                throw invalid(cidr, "not an IP address");
            }
            int maxPrefix = bytes.length * 8;
            int prefix = slash < 0 ? maxPrefix : prefix(cidr, text.substring(slash + 1), maxPrefix);
            if (bytes.length == 16 && isIpv4Mapped(bytes) && prefix >= 96) {
                int mask = ipv4Mask(prefix - 96);
                v4[v4Count * 2] = ipv4(bytes, 12) & mask;
                v4[v4Count * 2 + 1] = mask;
                v4Count++;
                entries.add(ipv4Text(ipv4(bytes, 12) & mask) + '/' + (prefix - 96));
            } else if (bytes.length == 4) {
                int mask = ipv4Mask(prefix);
                v4[v4Count * 2] = ipv4(bytes, 0) & mask;
                v4[v4Count * 2 + 1] = mask;
                v4Count++;
                entries.add(ipv4Text(ipv4(bytes, 0) & mask) + '/' + prefix);
            } else {
                long maskHigh = prefix >= 64 ? -1L : longMask(prefix);
                long maskLow = prefix <= 64 ? 0L : longMask(prefix - 64);
                long high = long64(bytes, 0) & maskHigh;
                long low = long64(bytes, 8) & maskLow;
                v6[v6Count * 4] = high;
                v6[v6Count * 4 + 1] = low;
                v6[v6Count * 4 + 2] = maskHigh;
                v6[v6Count * 4 + 3] = maskLow;
                v6Count++;
                entries.add(ipv6Text(high, low) + '/' + prefix);
            }
        }
        return new CidrSet(Arrays.copyOf(v4, v4Count * 2), Arrays.copyOf(v6, v6Count * 4),
                List.copyOf(entries));
    }

    /**
     * Whether the address lies in one of the ranges. Allocates nothing for IPv4; an
     * {@link java.net.Inet6Address} only gives out a copy of its bytes.
     */
    public boolean contains(InetAddress address) {
        if (address instanceof Inet4Address) {
            return containsIpv4(ipv4(address));
        }
        if (v4.length == 0 && v6.length == 0) {
            return false;
        }
        byte[] bytes = address.getAddress();
        if (bytes.length == 4) {
            return containsIpv4(ipv4(bytes, 0));
        }
        if (isIpv4Mapped(bytes)) {
            return containsIpv4(ipv4(bytes, 12));
        }
        long high = long64(bytes, 0);
        long low = long64(bytes, 8);
        for (int i = 0; i < v6.length; i += 4) {
            if ((high & v6[i + 2]) == v6[i] && (low & v6[i + 3]) == v6[i + 1]) {
                return true;
            }
        }
        return false;
    }

    /** Whether the set has no ranges at all. */
    public boolean isEmpty() {
        return v4.length == 0 && v6.length == 0;
    }

    @Override
    public String toString() {
        return "CidrSet" + entries;
    }

    private boolean containsIpv4(int address) {
        for (int i = 0; i < v4.length; i += 2) {
            if ((address & v4[i + 1]) == v4[i]) {
                return true;
            }
        }
        return false;
    }

    private static int prefix(String cidr, String text, int maxPrefix) {
        if (text.isEmpty() || text.length() > 3) {
            throw invalid(cidr, "prefix length must be 0.." + maxPrefix);
        }
        int prefix = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                throw invalid(cidr, "prefix length must be 0.." + maxPrefix);
            }
            prefix = prefix * 10 + (c - '0');
        }
        if (prefix > maxPrefix) {
            throw invalid(cidr, "prefix length must be 0.." + maxPrefix);
        }
        return prefix;
    }

    private static IllegalArgumentException invalid(String cidr, String reason) {
        return new IllegalArgumentException("invalid CIDR '" + cidr + "': " + reason);
    }

    private static int ipv4(InetAddress address) {
        return HASH_CODE_IS_ADDRESS ? address.hashCode() : ipv4(address.getAddress(), 0);
    }

    private static int ipv4(byte[] bytes, int offset) {
        return (bytes[offset] & 0xFF) << 24 | (bytes[offset + 1] & 0xFF) << 16
                | (bytes[offset + 2] & 0xFF) << 8 | bytes[offset + 3] & 0xFF;
    }

    private static long long64(byte[] bytes, int offset) {
        long value = 0;
        for (int i = 0; i < 8; i++) {
            value = value << 8 | bytes[offset + i] & 0xFF;
        }
        return value;
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF;
    }

    private static int ipv4Mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    /** A mask of {@code bits} leading ones in a long, 0..64. */
    private static long longMask(int bits) {
        return bits == 0 ? 0L : -1L << (64 - bits);
    }

    private static String ipv4Text(int address) {
        return NetUtil.intToIpAddress(address);
    }

    private static String ipv6Text(long high, long low) {
        byte[] bytes = new byte[16];
        for (int i = 0; i < 8; i++) {
            bytes[i] = (byte) (high >>> (56 - 8 * i));
            bytes[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        return NetUtil.bytesToIpAddress(bytes);
    }

    private static boolean hashCodeIsAddress() {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, (byte) 235}).hashCode() == 0xC00002EB
                    && InetAddress.getByAddress(new byte[] {10, 1, 2, 3}).hashCode() == 0x0A010203;
        } catch (UnknownHostException impossible) {
            return false;
        }
    }
}
