package io.portico.server.config;

/**
 * A response Portico writes itself, as nginx's {@code return 200 "text"}.
 *
 * @param status       100..599 (1xx are refused; use 200 or more)
 * @param body         the body, may be empty
 * @param contentType  its Content-Type
 */
public record FixedResponseConfig(
        @Default("200") int status,
        @Default("") String body,
        @Default("text/plain; charset=utf-8") String contentType) {

    public FixedResponseConfig {
        if (status < 200 || status > 599) {
            throw new InvalidConfigException("status", "must be 200..599, got " + status);
        }
    }
}
