package io.portico.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HopByHopHeadersTest {

    @Test
    void removesFixedHopByHopHeaders() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Connection", "keep-alive")
                .add("Keep-Alive", "timeout=5")
                .add("Proxy-Connection", "keep-alive")
                .add("TE", "trailers")
                .add("Transfer-Encoding", "chunked")
                .add("Upgrade", "websocket")
                .add("Proxy-Authorization", "Basic abc")
                .add("Proxy-Authenticate", "Basic")
                .add("Accept", "*/*");

        HopByHopHeaders.strip(headers);

        assertThat(headers.names()).containsExactly("Accept");
    }

    @Test
    void removesHeadersNamedInConnection() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Connection", "X-Secret ,\tx-other")
                .add("Connection", "X-Third")
                .add("X-Secret", "1")
                .add("X-Other", "2")
                .add("x-third", "3")
                .add("X-Kept", "4");

        HopByHopHeaders.strip(headers);

        assertThat(headers.names()).containsExactly("X-Kept");
    }

    @Test
    void keepsTrailerHeader() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Trailer", "Expires")
                .add("Connection", "close");

        HopByHopHeaders.strip(headers);

        assertThat(headers.get("Trailer")).isEqualTo("Expires");
    }

    @Test
    void reportsConnectionOptionsCaseInsensitively() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Connection", "Keep-Alive, UPGRADE")
                .add("Connection", "Close");

        int options = HopByHopHeaders.strip(headers);

        assertThat(options).isEqualTo(HopByHopHeaders.CLOSE | HopByHopHeaders.KEEP_ALIVE | HopByHopHeaders.UPGRADE);
    }

    @Test
    void reportsNoOptionsWithoutConnectionHeader() {
        HttpHeaders headers = new DefaultHttpHeaders().add("Host", "example.com");

        assertThat(HopByHopHeaders.strip(headers)).isZero();
        assertThat(headers.get("Host")).isEqualTo("example.com");
    }

    @Test
    void ignoresEmptyConnectionTokens() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Connection", ", ,close,,")
                .add("Accept", "*/*");

        assertThat(HopByHopHeaders.strip(headers)).isEqualTo(HopByHopHeaders.CLOSE);
        assertThat(headers.names()).containsExactly("Accept");
    }

    @Test
    void keepsFramingAndHostEvenWhenNamedInConnection() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Connection", "content-length, Host")
                .add("Content-Length", "12")
                .add("Host", "example.com");

        HopByHopHeaders.strip(headers);

        assertThat(headers.get("Content-Length")).isEqualTo("12");
        assertThat(headers.get("Host")).isEqualTo("example.com");
    }
}
