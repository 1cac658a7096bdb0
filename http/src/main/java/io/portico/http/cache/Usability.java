package io.portico.http.cache;

/** Whether a stored response may answer a request as it is (RFC 9111 section 4). */
public enum Usability {
    /** Fresh, and the request's directives accept it. */
    FRESH,
    /** Stale, but within the client's {@code max-stale}. */
    STALE_ACCEPTED,
    /** Stale within {@code stale-while-revalidate}: serve it and refresh it in the background. */
    STALE_WHILE_REVALIDATE,
    /** Must be validated with the origin before use. */
    NEEDS_VALIDATION
}
