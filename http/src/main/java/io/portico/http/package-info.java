/**
 * HTTP semantics as a library, free of sockets and config files: hop-by-hop rules, forwarding
 * headers, request ids, client-address trust. The cache policy and stores join it later.
 */
package io.portico.http;
