/**
 * The admin listener: a small HTTP/1.1 server on its own event loop, bound to loopback by default,
 * with an optional bearer token. {@code GET /metrics} (Prometheus text), {@code /status},
 * {@code /upstreams}, {@code /config} (secrets redacted), {@code /api/dashboard}, {@code /ui} (the
 * live dashboard, one HTML file from the jar), and {@code POST /reload}. A feature adds an endpoint
 * by adding a case to {@code AdminHandler} and, for JSON, a document to {@code AdminViews}.
 */
package io.portico.server.admin;
