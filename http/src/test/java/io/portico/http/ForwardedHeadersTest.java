package io.portico.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.net.Inet6Address;
import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

class ForwardedHeadersTest {

    @Test
    void addsAllForwardingHeadersForDirectClient() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders();

        ForwardedHeaders.apply(headers, ip("203.0.113.7"), false, "https", "example.com",
                true, true, true, "portico");

        assertThat(headers.get("X-Forwarded-For")).isEqualTo("203.0.113.7");
        assertThat(headers.get("X-Forwarded-Proto")).isEqualTo("https");
        assertThat(headers.get("X-Forwarded-Host")).isEqualTo("example.com");
        assertThat(headers.get("Forwarded")).isEqualTo("for=203.0.113.7;proto=https;host=example.com");
        assertThat(headers.get("Via")).isEqualTo("1.1 portico");
    }

    /** The texts are kept from one request to the next: a new client, proto or host must never get the last one's. */
    @Test
    void eachRequestGetsItsOwnClientProtoAndHostWhenTheyAlternate() throws Exception {
        String[][] cases = {
            {"203.0.113.7", "https", "a.example"},
            {"203.0.113.7", "https", "a.example"},
            {"203.0.113.8", "https", "a.example"},
            {"203.0.113.8", "http", "a.example"},
            {"203.0.113.8", "http", "b.example"},
            {"2001:db8:0:0:0:0:0:17", "http", "b.example"},
            {"203.0.113.7", "https", null},
            {"203.0.113.7", "https", "a.example"},
        };
        for (String[] c : cases) {
            HttpHeaders headers = new DefaultHttpHeaders();
            ForwardedHeaders.apply(headers, ip(c[0]), false, c[1], c[2], true, true, false, "portico");
            String client = c[0].contains(":") ? "\"[2001:db8::17]\"" : c[0];
            assertThat(headers.get("X-Forwarded-For")).isEqualTo(c[0].contains(":") ? "2001:db8::17" : c[0]);
            assertThat(headers.get("Forwarded"))
                    .isEqualTo("for=" + client + ";proto=" + c[1] + (c[2] == null ? "" : ";host=" + c[2]));
        }
        HttpHeaders unknown = new DefaultHttpHeaders();
        ForwardedHeaders.apply(unknown, null, false, "http", "a.example", true, true, false, "portico");
        assertThat(unknown.get("Forwarded")).isEqualTo("for=unknown;proto=http;host=a.example");
    }

    @Test
    void replacesSpoofedForwardedForFromUntrustedPeer() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("X-Forwarded-For", "1.1.1.1")
                .add("X-Forwarded-Proto", "https")
                .add("X-Forwarded-Host", "evil.example")
                .add("X-Forwarded-Port", "443")
                .add("x-forwarded-prefix", "/admin")
                .add("Forwarded", "for=1.1.1.1")
                .add("Accept", "*/*");

        ForwardedHeaders.apply(headers, ip("203.0.113.7"), false, "http", "example.com",
                true, true, false, "portico");

        assertThat(headers.getAll("X-Forwarded-For")).containsExactly("203.0.113.7");
        assertThat(headers.get("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(headers.get("X-Forwarded-Host")).isEqualTo("example.com");
        assertThat(headers.contains("X-Forwarded-Port")).isFalse();
        assertThat(headers.contains("X-Forwarded-Prefix")).isFalse();
        assertThat(headers.getAll("Forwarded")).containsExactly("for=203.0.113.7;proto=http;host=example.com");
        assertThat(headers.get("Accept")).isEqualTo("*/*");
    }

    @Test
    void dropsSpoofedHeadersFromUntrustedPeerEvenWhenNotSendingThem() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("X-Forwarded-For", "1.1.1.1")
                .add("Forwarded", "for=1.1.1.1");

        ForwardedHeaders.apply(headers, ip("203.0.113.7"), false, "http", "example.com",
                false, false, false, "portico");

        assertThat(headers.isEmpty()).isTrue();
    }

    @Test
    void appendsToForwardedForFromTrustedProxy() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("X-Forwarded-For", "198.51.100.1")
                .add("X-Forwarded-For", "198.51.100.2, 198.51.100.3")
                .add("X-Forwarded-Proto", "https")
                .add("X-Forwarded-Host", "public.example")
                .add("Forwarded", "for=198.51.100.1;proto=https");

        ForwardedHeaders.apply(headers, ip("10.0.0.5"), true, "http", "internal.example",
                true, true, false, "portico");

        assertThat(headers.getAll("X-Forwarded-For"))
                .containsExactly("198.51.100.1, 198.51.100.2, 198.51.100.3, 10.0.0.5");
        assertThat(headers.get("X-Forwarded-Proto")).isEqualTo("https");
        assertThat(headers.get("X-Forwarded-Host")).isEqualTo("public.example");
        assertThat(headers.getAll("Forwarded"))
                .containsExactly("for=198.51.100.1;proto=https, for=10.0.0.5;proto=http;host=internal.example");
    }

    @Test
    void quotesIpv6InForwarded() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders();

        ForwardedHeaders.apply(headers, ip("2001:db8:0:0:0:0:0:17"), false, "https", null,
                true, true, false, "portico");

        assertThat(headers.get("Forwarded")).isEqualTo("for=\"[2001:db8::17]\";proto=https");
        assertThat(headers.get("X-Forwarded-For")).isEqualTo("2001:db8::17");
        assertThat(headers.contains("X-Forwarded-Host")).isFalse();
    }

    @Test
    void quotesHostWithPortInForwarded() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders();

        ForwardedHeaders.apply(headers, ip("192.0.2.1"), false, "http", "example.com:8080",
                false, true, false, "portico");

        assertThat(headers.get("Forwarded")).isEqualTo("for=192.0.2.1;proto=http;host=\"example.com:8080\"");
        assertThat(headers.contains("X-Forwarded-For")).isFalse();
    }

    @Test
    void reportsIpv4MappedClientAsIpv4() throws Exception {
        HttpHeaders headers = new DefaultHttpHeaders();
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, (byte) 192, 0, 2, 9};

        ForwardedHeaders.apply(headers, Inet6Address.getByAddress(null, mapped, -1), false, "http", null,
                true, true, false, "portico");

        assertThat(headers.get("X-Forwarded-For")).isEqualTo("192.0.2.9");
        assertThat(headers.get("Forwarded")).isEqualTo("for=192.0.2.9;proto=http");
    }

    @Test
    void sendsUnknownForClientWithoutAddress() {
        HttpHeaders headers = new DefaultHttpHeaders();

        ForwardedHeaders.apply(headers, null, false, "http", null, true, true, false, "portico");

        assertThat(headers.get("Forwarded")).isEqualTo("for=unknown;proto=http");
        assertThat(headers.get("X-Forwarded-For")).isEqualTo("unknown");
    }

    @Test
    void appendsViaToExistingVia() throws Exception {
        HttpHeaders request = new DefaultHttpHeaders().add("Via", "1.0 fred, 1.1 p.example.net");
        HttpHeaders response = new DefaultHttpHeaders();

        ForwardedHeaders.apply(request, ip("192.0.2.1"), true, "http", null, false, false, true, "edge-1");
        ForwardedHeaders.addVia(response, "portico");
        ForwardedHeaders.addVia(response, "portico");

        assertThat(request.get("Via")).isEqualTo("1.0 fred, 1.1 p.example.net, 1.1 edge-1");
        assertThat(response.get("Via")).isEqualTo("1.1 portico, 1.1 portico");
    }

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }
}
