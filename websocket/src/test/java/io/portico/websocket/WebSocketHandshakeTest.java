package io.portico.websocket;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class WebSocketHandshakeTest {

    private static final String RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
    private static final String RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    /** The opening handshake of RFC 6455 section 1.3. */
    private static HttpRequest handshake() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/chat");
        request.headers()
                .set("Host", "server.example.com")
                .set("Upgrade", "websocket")
                .set("Connection", "Upgrade")
                .set("Sec-WebSocket-Key", RFC_KEY)
                .set("Sec-WebSocket-Version", "13");
        return request;
    }

    private static HttpRequest handshake(Consumer<HttpRequest> change) {
        HttpRequest request = handshake();
        change.accept(request);
        return request;
    }

    private static HttpResponse switching() {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
        response.headers()
                .set("Upgrade", "websocket")
                .set("Connection", "Upgrade")
                .set("Sec-WebSocket-Accept", RFC_ACCEPT);
        return response;
    }

    @Test
    void acceptsTheRfcExampleHandshake() {
        assertThat(WebSocketHandshake.validate(handshake())).isNull();
    }

    @Test
    void acceptsTokensInAnyCaseAmongOtherTokens() {
        HttpRequest request = handshake(r -> r.headers()
                .set("Upgrade", "WebSocket")
                .set("Connection", "keep-alive, UPGRADE"));

        assertThat(WebSocketHandshake.validate(request)).isNull();
    }

    @Test
    void acceptsHttp2AndLaterVersionNumbers() {
        HttpRequest request = new DefaultHttpRequest(new HttpVersion("HTTP", 2, 0, true), HttpMethod.GET, "/chat");
        request.headers().set(handshake().headers());

        assertThat(WebSocketHandshake.validate(request)).isNull();
    }

    record Broken(String name, HttpRequest request) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Broken> badRequests() {
        return Stream.of(
                new Broken("POST", handshake(r -> r.setMethod(HttpMethod.POST))),
                new Broken("HTTP/1.0", handshake(r -> r.setProtocolVersion(HttpVersion.HTTP_1_0))),
                new Broken("no Host", handshake(r -> r.headers().remove("Host"))),
                new Broken("empty Host", handshake(r -> r.headers().set("Host", ""))),
                new Broken("no Upgrade", handshake(r -> r.headers().remove("Upgrade"))),
                new Broken("Upgrade: h2c", handshake(r -> r.headers().set("Upgrade", "h2c"))),
                new Broken("no Connection", handshake(r -> r.headers().remove("Connection"))),
                new Broken("Connection: keep-alive", handshake(r -> r.headers().set("Connection", "keep-alive"))),
                new Broken("Connection: upgraded", handshake(r -> r.headers().set("Connection", "upgraded"))),
                new Broken("no key", handshake(r -> r.headers().remove("Sec-WebSocket-Key"))),
                new Broken("key of 15 bytes", handshake(r -> r.headers().set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"))),
                new Broken("key of 17 bytes", handshake(r -> r.headers().set("Sec-WebSocket-Key",
                        "AAAAAAAAAAAAAAAAAAAAAAA="))),
                new Broken("key without padding", handshake(r -> r.headers().set("Sec-WebSocket-Key",
                        "dGhlIHNhbXBsZSBub25jZQ"))),
                new Broken("key with a non-base64 character", handshake(r -> r.headers().set("Sec-WebSocket-Key",
                        "dGhlIHNhbXBsZSBub25jZ!=="))),
                new Broken("key with stray bits", handshake(r -> r.headers().set("Sec-WebSocket-Key",
                        "dGhlIHNhbXBsZSBub25jZR=="))),
                new Broken("two keys", handshake(r -> r.headers().add("Sec-WebSocket-Key", RFC_KEY))),
                new Broken("POST with a wrong version too", handshake(r -> {
                    r.setMethod(HttpMethod.POST);
                    r.headers().set("Sec-WebSocket-Version", "8");
                })));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void rejectsAMalformedHandshakeWith400(Broken broken) {
        WebSocketHandshake.Rejection rejection = WebSocketHandshake.validate(broken.request());

        assertThat(rejection).isNotNull();
        assertThat(rejection.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
        assertThat(rejection.reason()).isNotBlank();
        HttpHeaders headers = new DefaultHttpHeaders();
        rejection.addHeadersTo(headers);
        assertThat(headers.isEmpty()).isTrue();
    }

    @ParameterizedTest(name = "version [{0}]")
    @ValueSource(strings = {"8", "12", "14", "13, 8", "", "013"})
    void asksForVersion13With426(String version) {
        WebSocketHandshake.Rejection rejection =
                WebSocketHandshake.validate(handshake(r -> r.headers().set("Sec-WebSocket-Version", version)));

        assertThat(rejection.status()).isEqualTo(HttpResponseStatus.UPGRADE_REQUIRED);
        HttpHeaders headers = new DefaultHttpHeaders();
        rejection.addHeadersTo(headers);
        assertThat(headers.get("Sec-WebSocket-Version")).isEqualTo("13");
    }

    @Test
    void asksForVersion13WhenTheVersionIsMissing() {
        WebSocketHandshake.Rejection rejection =
                WebSocketHandshake.validate(handshake(r -> r.headers().remove("Sec-WebSocket-Version")));

        assertThat(rejection.status()).isEqualTo(HttpResponseStatus.UPGRADE_REQUIRED);
    }

    @Test
    void recognisesUpgradeRequestsByTheirUpgradeField() {
        assertThat(WebSocketHandshake.isUpgradeRequest(handshake())).isTrue();
        assertThat(WebSocketHandshake.isUpgradeRequest(handshake(r -> r.headers().set("Upgrade", "foo, WEBSOCKET"))))
                .isTrue();
        assertThat(WebSocketHandshake.isUpgradeRequest(handshake(r -> r.headers().set("Upgrade", "h2c")))).isFalse();
        assertThat(WebSocketHandshake.isUpgradeRequest(handshake(r -> r.headers().remove("Upgrade")))).isFalse();
    }

    @Test
    void computesTheAcceptOfTheRfcExample() {
        assertThat(WebSocketHandshake.acceptFor(RFC_KEY)).isEqualTo(RFC_ACCEPT);
    }

    @Test
    void acceptsACorrect101() {
        assertThat(WebSocketHandshake.acceptMatches(handshake(), switching())).isTrue();
    }

    @Test
    void refusesA101ThatDoesNotAnswerThisRequest() {
        HttpResponse wrongAccept = switching();
        wrongAccept.headers().set("Sec-WebSocket-Accept", WebSocketHandshake.acceptFor("AAAAAAAAAAAAAAAAAAAAAA=="));
        HttpResponse ok = switching();
        ok.setStatus(HttpResponseStatus.OK);
        HttpResponse noUpgrade = switching();
        noUpgrade.headers().remove("Upgrade");
        HttpResponse noConnection = switching();
        noConnection.headers().set("Connection", "keep-alive");
        HttpResponse noAccept = switching();
        noAccept.headers().remove("Sec-WebSocket-Accept");

        assertThat(Stream.of(wrongAccept, ok, noUpgrade, noConnection, noAccept))
                .allSatisfy(response -> assertThat(WebSocketHandshake.acceptMatches(handshake(), response)).isFalse());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"permessage-deflate", "Permessage-Deflate; client_max_window_bits",
            "x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover"})
    void seesPermessageDeflateNegotiated(String extensions) {
        HttpResponse response = switching();
        response.headers().set("Sec-WebSocket-Extensions", extensions);

        assertThat(WebSocketHandshake.deflateNegotiated(response)).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"x-webkit-deflate-frame", "foo; permessage-deflate", "foo; bar=\"a, permessage-deflate\"",
            "permessage-deflated"})
    void seesNoDeflateWhenTheExtensionIsNotNegotiated(String extensions) {
        HttpResponse response = switching();
        response.headers().set("Sec-WebSocket-Extensions", extensions);

        assertThat(WebSocketHandshake.deflateNegotiated(response)).isFalse();
        assertThat(WebSocketHandshake.deflateNegotiated(switching())).isFalse();
    }

    @Test
    void keepsOnlyThePermessageDeflateOffersWithTheirParameters() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add("Sec-WebSocket-Extensions", "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits")
                .add("Sec-WebSocket-Extensions", "foo; bar=\"a, permessage-deflate\", , Permessage-Deflate");

        WebSocketHandshake.keepOnlyDeflateOffers(headers);

        assertThat(headers.getAll("Sec-WebSocket-Extensions"))
                .containsExactly("permessage-deflate; client_max_window_bits, Permessage-Deflate");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"x-webkit-deflate-frame", "foo; permessage-deflate", "permessage-deflate; x=\"open"})
    void dropsTheExtensionsFieldWhenNoPermessageDeflateOfferIsLeft(String offers) {
        HttpHeaders headers = new DefaultHttpHeaders().set("Sec-WebSocket-Extensions", offers);

        WebSocketHandshake.keepOnlyDeflateOffers(headers);

        assertThat(headers.contains("Sec-WebSocket-Extensions")).isFalse();
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"", "permessage-deflate", "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"})
    void acceptsA101ThatSelectsNothingOrTheOfferedPermessageDeflate(String selected) {
        HttpRequest request = handshake(r -> r.headers().set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"));
        HttpResponse response = switching();
        if (!selected.isEmpty()) {
            response.headers().set("Sec-WebSocket-Extensions", selected);
        }

        assertThat(WebSocketHandshake.extensionsAcceptable(request, response)).isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"x-webkit-deflate-frame", "permessage-deflate, x-webkit-deflate-frame",
            "permessage-deflate, permessage-deflate", "permessage-deflate; x=\"open"})
    void refusesA101ThatSelectsAnExtensionTheRelayCannotFollow(String selected) {
        HttpRequest request = handshake(r -> r.headers().set("Sec-WebSocket-Extensions",
                "permessage-deflate, x-webkit-deflate-frame"));
        HttpResponse response = switching();
        response.headers().set("Sec-WebSocket-Extensions", selected);

        assertThat(WebSocketHandshake.extensionsAcceptable(request, response)).isFalse();
    }

    @Test
    void refusesA101ThatSelectsPermessageDeflateWhenItWasNotOffered() {
        HttpResponse response = switching();
        response.headers().set("Sec-WebSocket-Extensions", "permessage-deflate");

        assertThat(WebSocketHandshake.extensionsAcceptable(handshake(), response)).isFalse();
    }
}
