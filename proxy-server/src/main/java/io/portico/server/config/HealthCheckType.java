package io.portico.server.config;

/** What an active health check does. */
public enum HealthCheckType {
    /** A TCP connect that completes within the timeout. */
    TCP,
    /** An HTTP/1.1 request whose answer has an expected status (and body, when asked). */
    HTTP
}
