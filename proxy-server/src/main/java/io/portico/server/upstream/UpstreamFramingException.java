package io.portico.server.upstream;

import io.netty.handler.codec.DecoderException;

/**
 * An upstream response whose framing two parsers could read differently; the reason is a short
 * code such as {@code content_length_with_transfer_encoding}. The exchange answers 502 and the
 * connection is closed, never retried or reused.
 */
public final class UpstreamFramingException extends DecoderException {

    private static final long serialVersionUID = 1L;

    public UpstreamFramingException(String reason) {
        super(reason);
    }

    /** The reason as it goes in the access log. */
    public String reason() {
        return getMessage();
    }
}
