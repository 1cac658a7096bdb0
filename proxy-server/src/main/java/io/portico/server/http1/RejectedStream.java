package io.portico.server.http1;

/**
 * A user event from a stream bridge: it has reset its request stream for a malformed request (RFC
 * 9114 section 4.1.2) and nothing will be answered, but the refusal is logged as HTTP/1.1 logs the
 * 400 it answers for the same faults. With no exchange started the stream's handler writes an
 * access-log line of its own with {@code status} and {@code reason}; an exchange in progress takes
 * {@code reason} as its error and logs it when the reset ends it.
 *
 * @param status the status logged, 400
 * @param reason for the access log, such as {@code malformed_request:scheme}
 */
public record RejectedStream(int status, String reason) {
}
