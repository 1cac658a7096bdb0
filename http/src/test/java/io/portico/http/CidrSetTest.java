package io.portico.http;

import org.junit.jupiter.api.Test;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CidrSetTest {

    @Test
    void matchesIpv4Ranges() throws Exception {
        CidrSet set = CidrSet.parse(List.of("10.0.0.0/8", "192.168.1.7"));

        assertThat(set.contains(ip("10.255.3.4"))).isTrue();
        assertThat(set.contains(ip("192.168.1.7"))).isTrue();
        assertThat(set.contains(ip("192.168.1.8"))).isFalse();
        assertThat(set.contains(ip("11.0.0.1"))).isFalse();
    }

    @Test
    void matchesIpv6Ranges() throws Exception {
        CidrSet set = CidrSet.parse(List.of("::1/128", "2001:db8::/32", "fd00::/72"));

        assertThat(set.contains(ip("::1"))).isTrue();
        assertThat(set.contains(ip("2001:db8:ffff::1"))).isTrue();
        assertThat(set.contains(ip("2001:db9::1"))).isFalse();
        assertThat(set.contains(ip("fd00::00ff:1:2:3"))).isTrue();
        assertThat(set.contains(ip("fd00::0100:1:2:3"))).isFalse();
        assertThat(set.contains(ip("10.0.0.1"))).isFalse();
    }

    @Test
    void matchesIpv4MappedAddressAgainstIpv4Range() throws Exception {
        CidrSet set = CidrSet.parse(List.of("10.0.0.0/8"));
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, 10, 1, 2, 3};

        assertThat(set.contains(Inet6Address.getByAddress(null, mapped, -1))).isTrue();
    }

    @Test
    void treatsIpv4MappedRangeAsIpv4Range() throws Exception {
        CidrSet set = CidrSet.parse(List.of("::ffff:192.168.0.0/112"));

        assertThat(set.contains(ip("192.168.44.1"))).isTrue();
        assertThat(set.contains(ip("192.169.0.1"))).isFalse();
        assertThat(set).hasToString("CidrSet[192.168.0.0/16]");
    }

    @Test
    void ignoresHostBitsPastThePrefix() throws Exception {
        CidrSet set = CidrSet.parse(List.of("172.16.9.9/12", "0.0.0.0/0"));

        assertThat(set).hasToString("CidrSet[172.16.0.0/12, 0.0.0.0/0]");
        assertThat(set.contains(ip("8.8.8.8"))).isTrue();
    }

    @Test
    void matchesEveryIpv6AddressWithZeroPrefix() throws Exception {
        assertThat(CidrSet.parse(List.of("::/0")).contains(ip("2a00:1450::1"))).isTrue();
    }

    @Test
    void rejectsBadCidrWithItsText() {
        for (String bad : List.of("10.0.0.0/33", "example.com", "10.0.0/8", "::1/129", "10.0.0.0/", "10.0.0.0/x",
                "fe80::1%eth0")) {
            assertThatThrownBy(() -> CidrSet.parse(List.of("10.0.0.0/8", bad)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
    }

    @Test
    void emptySetContainsNothing() throws Exception {
        assertThat(CidrSet.EMPTY.isEmpty()).isTrue();
        assertThat(CidrSet.parse(List.of()).isEmpty()).isTrue();
        assertThat(CidrSet.EMPTY.contains(ip("127.0.0.1"))).isFalse();
        assertThat(CidrSet.EMPTY.contains(ip("::1"))).isFalse();
        assertThat(CidrSet.parse(List.of("::1")).isEmpty()).isFalse();
    }

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }
}
