package io.portico.server.config;

import java.time.Duration;

/**
 * HTTP/1.1 limits and keep-alive for one listener.
 *
 * @param maxRequestLine     longest request line; longer gets 414
 * @param maxHeaderSize      largest header block; larger gets 431
 * @param keepaliveTimeout   how long an idle client connection stays open (nginx: 75s)
 * @param keepaliveRequests  requests on one client connection before Portico closes it (nginx: 1000)
 */
public record HttpListenerConfig(
        @Default("8k") ByteSize maxRequestLine,
        @Default("32k") ByteSize maxHeaderSize,
        @Default("75s") Duration keepaliveTimeout,
        @Default("1000") int keepaliveRequests) {

    public HttpListenerConfig {
        if (maxRequestLine.bytes() < 64) {
            throw new InvalidConfigException("max_request_line", "must be at least 64 bytes");
        }
        if (maxHeaderSize.bytes() < 256) {
            throw new InvalidConfigException("max_header_size", "must be at least 256 bytes");
        }
        if (keepaliveRequests <= 0) {
            throw new InvalidConfigException("keepalive_requests", "must be positive");
        }
    }
}
