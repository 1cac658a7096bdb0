package io.portico.server.config;

/** What a listener speaks: HTTP (routed by servers), or a TCP or UDP relay to one upstream group (nginx {@code stream}). */
public enum ListenerProtocol {
    HTTP, TCP, UDP
}
