/**
 * The HTTP cache wired into the proxy: a route's cache settings ({@link io.portico.server.cache.RouteCache}),
 * one origin fetch that fills or revalidates a stored response ({@link io.portico.server.cache.CacheFill}),
 * and the {@code Cache-Status} header (RFC 9211). Works on Netty's HttpRequest/HttpResponse/HttpContent,
 * not on HTTP/1 connections, so other front ends can use it too.
 */
package io.portico.server.cache;
