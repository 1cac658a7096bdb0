package io.portico.server.config;

import java.time.Duration;

/**
 * HTTP/1.1 limits, client timeouts and keep-alive for one listener, with nginx's defaults.
 *
 * @param maxRequestLine     longest request line; longer gets 414
 * @param maxHeaderSize      largest header block; larger gets 431 (nginx large_client_header_buffers 4 8k)
 * @param maxHeaders         most header fields in one request; more gets 431 (HAProxy tune.http.maxhdr 101)
 * @param headerTimeout      deadline for a whole request head from its first byte, and for the first
 *                           byte of a new connection; a partial head then gets 408 and the connection
 *                           closes (nginx client_header_timeout). Every byte does not restart it.
 * @param bodyTimeout        longest wait for the next request body bytes while Portico is asking for
 *                           them; then 408 and close (nginx client_body_timeout)
 * @param minBodyRate        bytes per second a request body must average after the first
 *                           {@code body_timeout}; slower gets 408 (Apache mod_reqtimeout MinRate), on
 *                           HTTP/1.1 and on each HTTP/2 or HTTP/3 request stream; 0 is off
 * @param sendTimeout        longest time a client may leave Portico's output unread; then the
 *                           connection closes (nginx send_timeout). A WebSocket relay applies it
 *                           to both of its connections, client and upstream.
 * @param keepaliveTimeout   how long an idle client connection stays open (nginx: 75s)
 * @param keepaliveRequests  requests on one client connection before Portico closes it (nginx: 1000)
 * @param underscoresInHeaders whether request fields whose name has an underscore go on; off (nginx's
 *                           underscores_in_headers default) drops them, so {@code X_Forwarded_For}
 *                           cannot pass as {@code X-Forwarded-For} to a backend that reads names the
 *                           CGI way (both become HTTP_X_FORWARDED_FOR)
 */
public record HttpListenerConfig(
        @Default("8k") ByteSize maxRequestLine,
        @Default("32k") ByteSize maxHeaderSize,
        @Default("100") int maxHeaders,
        @Default("60s") Duration headerTimeout,
        @Default("60s") Duration bodyTimeout,
        @Default("0") ByteSize minBodyRate,
        @Default("60s") Duration sendTimeout,
        @Default("75s") Duration keepaliveTimeout,
        @Default("1000") int keepaliveRequests,
        @Default("false") boolean underscoresInHeaders) {

    public HttpListenerConfig {
        if (maxRequestLine.bytes() < 64) {
            throw new InvalidConfigException("max_request_line", "must be at least 64 bytes");
        }
        if (maxHeaderSize.bytes() < 256) {
            throw new InvalidConfigException("max_header_size", "must be at least 256 bytes");
        }
        if (maxHeaders < 1) {
            throw new InvalidConfigException("max_headers", "must be positive");
        }
        positive("header_timeout", headerTimeout);
        positive("body_timeout", bodyTimeout);
        positive("send_timeout", sendTimeout);
        positive("keepalive_timeout", keepaliveTimeout);
        if (keepaliveRequests <= 0) {
            throw new InvalidConfigException("keepalive_requests", "must be positive");
        }
    }

    private static void positive(String key, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new InvalidConfigException(key, "must be positive");
        }
    }
}
