package io.portico.server.http2;

/**
 * Logs the requests of an HTTP/2 connection that Netty's codec refuses before their stream has a
 * handler of its own (the stream never opened, or opened only to be answered by the codec), so
 * before any exchange handler could log them. Neither has fields to log: the codec refused them
 * while it decoded them.
 */
public interface RefusedStreams {

    /** A malformed request (a connection-specific or upper-case field, a misplaced pseudo-header...): reset with PROTOCOL_ERROR, a 400 line. */
    void malformed();

    /** A header list over max_header_list_size: answered 431 by the codec, a 431 line with {@code header_list_too_large}. */
    void headerListTooLarge();
}
